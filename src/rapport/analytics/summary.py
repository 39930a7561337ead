"""Each customer's purchase history as of a moment: what every analytics model starts from.

Orders, purchase days, first and last order, spend, discount, and the last 90 days' orders, as
parallel arrays. :mod:`rapport.analytics.queries` builds it from the database with one
``GROUP BY``; the CDNOW validation builds it from a transaction log. No Django imports here, so
the models can be validated without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rapport.analytics.clv import FloatArray

RECENT_DAYS = 90
DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class PurchaseSummary:
    """Parallel arrays, one entry per customer with at least one counted order before ``as_of``."""

    as_of: dt.datetime
    customer_ids: NDArray[np.int64]
    orders: FloatArray
    purchase_days: FloatArray
    first_seconds: FloatArray  # seconds since the epoch (UTC) of the first order
    last_seconds: FloatArray
    net_spent: FloatArray
    gross_spent: FloatArray
    subtotal: FloatArray
    discount: FloatArray
    recent_orders: FloatArray
    recent_spent: FloatArray

    @property
    def first_day(self) -> FloatArray:
        """Days since the epoch (UTC) of the first order."""
        return np.floor(self.first_seconds / DAY_SECONDS)

    @property
    def last_day(self) -> FloatArray:
        return np.floor(self.last_seconds / DAY_SECONDS)

    @property
    def as_of_day(self) -> float:
        return float(np.floor(self.as_of.timestamp() / DAY_SECONDS))

    def recency_days(self) -> FloatArray:
        return self.as_of_day - self.last_day

    def tenure_days(self) -> FloatArray:
        return self.as_of_day - self.first_day
