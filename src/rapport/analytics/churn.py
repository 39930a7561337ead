"""The churn classifier: will a customer who has bought make no purchase in the next 90 days?

Features are behaviour only (recency, tenure, purchase days, orders, average order value, the
last 90 days' orders and spend, discount share, purchase rate), taken from a
:class:`~rapport.analytics.summary.PurchaseSummary` so the same code serves the database and the
CDNOW validation. Evaluation is out of time: the model learns from the customers as they were
180 days ago (label: no purchase in the 90 days after) and is scored on the customers as they
were 90 days ago (label: no purchase since). Its ROC AUC is reported against ranking by recency
alone. The fitted scaler and coefficients are stored as JSON and applied with numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from rapport.analytics.clv import FloatArray
from rapport.analytics.summary import PurchaseSummary

HORIZON_DAYS = 90
MIN_CUSTOMERS = 50
FEATURES = (
    "recency",
    "tenure",
    "purchase_days",
    "orders",
    "average_order_value",
    "recent_orders",
    "recent_spent",
    "discount_share",
    "purchase_rate",
)


def features(summary: PurchaseSummary) -> FloatArray:
    """One row per customer of the summary, columns as in :data:`FEATURES` (log-scaled counts)."""
    recency = summary.recency_days()
    tenure = summary.tenure_days()
    orders = np.maximum(summary.orders, 1.0)
    share = np.divide(
        summary.discount, summary.subtotal, out=np.zeros_like(summary.discount), where=summary.subtotal > 0
    )
    return np.column_stack(
        [
            np.log1p(recency),
            np.log1p(tenure),
            np.log1p(summary.purchase_days),
            np.log1p(summary.orders),
            np.log1p(np.maximum(summary.net_spent, 0) / orders),
            np.log1p(summary.recent_orders),
            np.log1p(np.maximum(summary.recent_spent, 0)),
            share,
            summary.purchase_days / (tenure + 30.0),
        ]
    )


@dataclass(frozen=True)
class ChurnModel:
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, x: FloatArray) -> FloatArray:
        z = (x - np.array(self.mean)) / np.array(self.scale) @ np.array(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def as_params(self) -> dict[str, Any]:
        return {"features": list(FEATURES), **self.__dict__}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ChurnModel | None:
        if params.get("features") != list(FEATURES):
            return None  # fitted on other features: wait for the next full run
        return cls(params["mean"], params["scale"], params["coef"], float(params["intercept"]))


def fit(x: FloatArray, churned: NDArray[np.bool_]) -> ChurnModel:
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(max_iter=1000, C=1.0).fit((x - scaler.mean_) / scale, churned)
    return ChurnModel(
        [float(v) for v in scaler.mean_],
        [float(v) for v in scale],
        [float(v) for v in model.coef_[0]],
        float(model.intercept_[0]),
    )


@dataclass(frozen=True)
class Evaluation:
    model: ChurnModel
    auc: float
    baseline_auc: float
    train_customers: int
    test_customers: int
    test_churn_rate: float

    def quality(self) -> dict[str, Any]:
        return {
            "auc": round(self.auc, 4),
            "recency_baseline_auc": round(self.baseline_auc, 4),
            "train_customers": self.train_customers,
            "test_customers": self.test_customers,
            "test_churn_rate": round(self.test_churn_rate, 4),
        }


SummaryAt = Callable[[dt.datetime], PurchaseSummary]
BoughtBetween = Callable[[dt.datetime, dt.datetime, NDArray[np.int64]], NDArray[np.bool_]]


def train_out_of_time(now: dt.datetime, summary_at: SummaryAt, bought_between: BoughtBetween) -> Evaluation | None:
    """Learn at ``now − 180 d``, test at ``now − 90 d``, then refit on the test snapshot (the
    latest with known outcomes) for scoring today. ``None`` when either snapshot has fewer than
    :data:`MIN_CUSTOMERS` customers or only one outcome."""
    horizon = dt.timedelta(days=HORIZON_DAYS)
    snapshots = []
    for as_of in (now - 2 * horizon, now - horizon):
        summary = summary_at(as_of)
        churned = ~bought_between(as_of, as_of + horizon, summary.customer_ids)
        if summary.customer_ids.size < MIN_CUSTOMERS or churned.all() or not churned.any():
            return None
        snapshots.append((features(summary), churned, summary))
    (x_train, y_train, _), (x_test, y_test, test_summary) = snapshots
    model = fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, model.probability(x_test)))
    baseline = float(roc_auc_score(y_test, test_summary.recency_days()))
    return Evaluation(fit(x_test, y_test), auc, baseline, len(y_train), len(y_test), float(y_test.mean()))
