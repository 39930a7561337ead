"""``rapport clv fit``: JSON for analysts, and clear errors for bad files and options."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("clv", "fit", *args, stdout=out)
    return out.getvalue()


def test_fit_prints_parameters_and_holdout_as_json(cdnow_sample_csv: Path) -> None:
    report = json.loads(
        _run(str(cdnow_sample_csv), "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--json")
    )
    assert report["customers"] == 2357
    assert report["bgnbd"]["params"]["r"] == pytest.approx(0.2426, abs=1e-4)
    assert report["bgnbd"]["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert report["gamma_gamma"]["params"]["gamma"] == pytest.approx(15.44, abs=5e-3)
    holdout = report["holdout"]
    assert holdout["actual_total"] == 1882
    assert holdout["actual_total"] == sum(c["actual"] for c in holdout["customers"])
    assert holdout["predicted_total"] == pytest.approx(sum(c["predicted"] for c in holdout["customers"]), abs=0.1)


def test_fit_without_holdout_prints_a_readable_summary(cdnow_sample_csv: Path) -> None:
    text = _run(str(cdnow_sample_csv), "--calibration-end", "1997-09-30")
    assert "2357 customers (946 with repeat purchases)" in text
    assert "BG/NBD       r=0.2426" in text
    assert "Hold-out" not in text


def test_bad_file_fails_naming_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,1\nc1,2024-13-01,1\n")
    with pytest.raises(CommandError, match=r"line 3, column date: '2024-13-01' is not a date"):
        _run(str(path), "--calibration-end", "2024-06-30")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot be read"):
        _run(str(tmp_path / "none.csv"), "--calibration-end", "2024-06-30")


def test_holdout_must_follow_calibration(cdnow_sample_csv: Path) -> None:
    with pytest.raises(CommandError, match="--holdout-end: must be after --calibration-end"):
        _run(str(cdnow_sample_csv), "--calibration-end", "1997-09-30", "--holdout-end", "1997-01-01")


def test_data_without_repeat_purchases_cannot_be_fitted(tmp_path: Path) -> None:
    path = tmp_path / "once.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,1\n")
    with pytest.raises(CommandError, match="cannot fit the models: no customer made a repeat purchase"):
        _run(str(path), "--calibration-end", "2024-06-30")


def test_calibration_before_any_purchase_is_refused(cdnow_sample_csv: Path) -> None:
    with pytest.raises(CommandError, match="no customer made a first purchase on or before 1996-01-01"):
        _run(str(cdnow_sample_csv), "--calibration-end", "1996-01-01")
