"""Fit BG/NBD and Gamma-Gamma to a transaction log and compare with a hold-out period.

Shared by ``rapport clv fit`` and the CDNOW validation (``python -m rapport.analytics.validation``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from rapport.analytics import clv
from rapport.analytics.clv import FloatArray
from rapport.analytics.transactions import Summary, TransactionLog, summarise


@dataclass(frozen=True)
class ClvFit:
    summary: Summary
    calibration_end: dt.date
    holdout_end: dt.date | None
    bgnbd: clv.FitResult
    gamma_gamma: clv.FitResult | None
    holdout_predicted: FloatArray | None

    @property
    def holdout_length(self) -> float | None:
        if self.holdout_end is None:
            return None
        return (self.holdout_end - self.calibration_end).days / self.summary.unit_days

    def as_json(self, *, per_customer: bool = True) -> dict[str, Any]:
        s = self.summary
        result: dict[str, Any] = {
            "customers": int(s.customers.size),
            "repeat_customers": int((s.frequency > 0).sum()),
            "calibration_end": self.calibration_end.isoformat(),
            "unit_days": s.unit_days,
            "calibration_repeat_purchases": int(s.frequency.sum()),
            "bgnbd": _fit_json(self.bgnbd),
            "gamma_gamma": _fit_json(self.gamma_gamma) if self.gamma_gamma else None,
        }
        if self.holdout_end is not None and self.holdout_predicted is not None and s.holdout_frequency is not None:
            predicted, actual = self.holdout_predicted, s.holdout_frequency
            holdout: dict[str, Any] = {
                "end": self.holdout_end.isoformat(),
                "length": self.holdout_length,
                "predicted_total": round(float(predicted.sum()), 3),
                "actual_total": int(actual.sum()),
                "mean_absolute_error": round(float(np.abs(predicted - actual).mean()), 4),
            }
            if per_customer:
                holdout["customers"] = [
                    {"customer_id": str(c), "predicted": round(float(p), 4), "actual": int(a)}
                    for c, p, a in zip(s.customers, predicted, actual, strict=True)
                ]
            result["holdout"] = holdout
        return result


def _fit_json(fit: clv.FitResult) -> dict[str, Any]:
    return {
        "params": {k: round(v, 6) for k, v in fit.params.items()},
        "log_likelihood": round(fit.log_likelihood, 4),
        "iterations": fit.iterations,
        "customers": fit.customers,
    }


def fit_log(
    log: TransactionLog, *, calibration_end: dt.date, holdout_end: dt.date | None = None, unit_days: float = 7.0
) -> ClvFit:
    """Summarise, fit both models on the calibration period and predict the hold-out."""
    summary = summarise(log, calibration_end=calibration_end, holdout_end=holdout_end, unit_days=unit_days)
    if summary.customers.size == 0:
        raise clv.FitError(f"no customer made a first purchase on or before {calibration_end.isoformat()}")
    bgnbd = clv.fit_bgnbd(summary.frequency, summary.recency, summary.age)
    try:
        gamma_gamma: clv.FitResult | None = clv.fit_gamma_gamma(summary.frequency, summary.monetary)
    except clv.FitError:
        gamma_gamma = None
    predicted = None
    if holdout_end is not None:
        length = (holdout_end - calibration_end).days / unit_days
        predicted = clv.bgnbd_expected_purchases(bgnbd.params, length, summary.frequency, summary.recency, summary.age)
    return ClvFit(summary, calibration_end, holdout_end, bgnbd, gamma_gamma, predicted)
