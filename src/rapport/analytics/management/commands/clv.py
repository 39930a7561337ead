"""``rapport clv fit TRANSACTIONS.csv --calibration-end YYYY-MM-DD [--holdout-end YYYY-MM-DD] --json``.

Fits BG/NBD and Gamma-Gamma to a CSV of ``customer_id,date,amount`` (same-day purchases merged)
and prints the parameters, the log-likelihoods and, with a hold-out, the predicted and actual
hold-out purchases per customer and in total.
"""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.analytics.clv import FitError
from rapport.analytics.clv_fit import fit_log
from rapport.analytics.transactions import TransactionFileError, read_csv


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"{value!r} is not a date such as 1997-09-30") from exc


def _unit(value: str) -> float:
    try:
        days = float(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"{value!r} is not a number of days") from exc
    if not 0 < days <= 366:
        raise ArgumentTypeError("the time unit is between 0 and 366 days")
    return days


class Command(BaseCommand):
    help = "Customer lifetime value models for analysts: fit BG/NBD and Gamma-Gamma to a transactions CSV."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        fit = actions.add_parser("fit", help="fit BG/NBD and Gamma-Gamma to a CSV of customer_id,date,amount")
        fit.add_argument("transactions", type=Path, help="CSV with the header customer_id,date,amount")
        fit.add_argument("--calibration-end", type=_day, required=True, help="last day of the calibration period")
        fit.add_argument("--holdout-end", type=_day, help="last day of the hold-out period (after the calibration)")
        fit.add_argument("--unit-days", type=_unit, default=7.0, help="days in the time unit (default 7: weeks)")
        fit.add_argument("--json", action="store_true", help="print JSON (per-customer hold-out included)")

    def handle(self, *args: Any, **options: Any) -> None:
        calibration_end: dt.date = options["calibration_end"]
        holdout_end: dt.date | None = options["holdout_end"]
        if holdout_end is not None and holdout_end <= calibration_end:
            raise CommandError("--holdout-end: must be after --calibration-end")
        try:
            log = read_csv(options["transactions"])
            result = fit_log(
                log, calibration_end=calibration_end, holdout_end=holdout_end, unit_days=options["unit_days"]
            )
        except TransactionFileError as exc:
            raise CommandError(str(exc)) from exc
        except FitError as exc:
            raise CommandError(f"cannot fit the models: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        report = result.as_json(per_customer=False)
        self.stdout.write(
            f"{report['customers']} customers ({report['repeat_customers']} with repeat purchases), "
            f"calibration to {report['calibration_end']}, time unit {report['unit_days']:g} days"
        )
        self.stdout.write(f"BG/NBD       {_params(report['bgnbd'])}")
        if report["gamma_gamma"]:
            self.stdout.write(f"Gamma-Gamma  {_params(report['gamma_gamma'])}")
        if "holdout" in report:
            h = report["holdout"]
            self.stdout.write(
                f"Hold-out to {h['end']}: predicted {h['predicted_total']:.1f} repeat purchases, actual "
                f"{h['actual_total']} (mean absolute error per customer {h['mean_absolute_error']:.3f})"
            )


def _params(fit: dict[str, Any]) -> str:
    values = ", ".join(f"{k}={v:.4f}" for k, v in fit["params"].items())
    return f"{values}; log-likelihood {fit['log_likelihood']:.2f}"
