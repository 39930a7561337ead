"""Transaction logs: summaries (same-day purchases merged) and the analyst's CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from rapport.analytics.transactions import TransactionFileError, TransactionLog, read_csv, summarise


def _log(rows: list[tuple[str, str, float]]) -> TransactionLog:
    return TransactionLog(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows], dtype="datetime64[D]"),
        np.array([r[2] for r in rows]),
    )


def test_summary_merges_same_day_purchases_and_measures_in_weeks() -> None:
    log = _log(
        [
            ("a", "2020-01-01", 10.0),
            ("a", "2020-01-01", 5.0),  # same day: one transaction of 15
            ("a", "2020-01-15", 20.0),
            ("a", "2020-01-29", 40.0),
            ("a", "2020-02-20", 99.0),  # hold-out
            ("b", "2020-01-08", 7.0),
            ("c", "2020-02-10", 3.0),  # first purchase after calibration: left out
        ]
    )
    s = summarise(log, calibration_end=dt.date(2020, 1, 29), holdout_end=dt.date(2020, 3, 1))
    assert list(s.customers) == ["a", "b"]
    assert list(s.frequency) == [2.0, 0.0]
    assert list(s.recency) == [4.0, 0.0]
    assert list(s.age) == [4.0, 3.0]
    assert list(s.monetary) == [30.0, 0.0]
    assert s.holdout_frequency is not None
    assert list(s.holdout_frequency) == [1.0, 0.0]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_csv_with_columns_in_any_order_is_read(tmp_path: Path) -> None:
    log = read_csv(_write(tmp_path, "amount,customer_id,date,store\n12.5,c1,2024-03-01,x\n\n3,c2,2024-03-02,y\n"))
    assert list(log.customers) == ["c1", "c2"]
    assert list(log.amounts) == [12.5, 3.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("customer_id,date\nc1,2024-01-01\n", "line 1: the header lacks the column(s) amount"),
        (
            "customer_id,date,amount\nc1,2024-01-01,5\nc2,01/02/2024,5\n",
            "line 3, column date: '01/02/2024' is not a date",
        ),
        ("customer_id,date,amount\nc1,2024-01-01,five\n", "line 2, column amount: 'five' is not a number"),
        ("customer_id,date,amount\nc1,2024-01-01,-2\n", "line 2, column amount: '-2' is not an amount of at least 0"),
        ("customer_id,date,amount\n,2024-01-01,2\n", "line 2, column customer_id: empty"),
        ("customer_id,date,amount\nc1,2024-01-01\n", "line 2: 2 columns where the header has 3"),
        ("customer_id,date,amount\n", "no transactions after the header"),
    ],
)
def test_bad_csv_names_the_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TransactionFileError) as error:
        read_csv(_write(tmp_path, text))
    assert message in str(error.value)


def test_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"customer_id,date,amount\n\xff\xfe,2024-01-01,1\n")
    with pytest.raises(TransactionFileError, match="not UTF-8"):
        read_csv(path)
