"""Aggregations the analytics models read, pushed into the database.

One ``GROUP BY`` over the counted orders (the covering index serves it) per snapshot; nothing
loops over orders in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db.models import Count, DecimalField, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast, TruncDate
from numpy.typing import NDArray

from rapport.analytics.clv import FloatArray
from rapport.analytics.summary import DAY_SECONDS, RECENT_DAYS, PurchaseSummary
from rapport.commerce.models import COUNTED_STATUSES, Order, OrderLine


def _money_sum(expression: object, **extra: object) -> Cast:
    return Cast(Sum(expression, output_field=DecimalField(max_digits=18, decimal_places=2), **extra), FloatField())  # type: ignore[arg-type]


def purchase_summary(as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> PurchaseSummary:
    """Counted orders placed before ``as_of``, per customer (only ``customer_ids`` if given).

    Two queries. The first reads only the customer, time and total of each order, so PostgreSQL
    answers it with an index-only scan of ``order_counted_customer_idx`` in customer order and
    aggregates as it goes (the distinct purchase days included) — no sort, no heap. The second
    sums refunds, list prices and discounts with a hash aggregate. The last 90 days' spend is
    before refunds."""
    orders = Order.objects.filter(status__in=COUNTED_STATUSES, customer__isnull=False, placed_at__lt=as_of)
    if customer_ids is not None:
        orders = orders.filter(customer_id__in=list(customer_ids))
    recent = Q(placed_at__gte=as_of - dt.timedelta(days=RECENT_DAYS))
    rows = list(
        orders.values("customer_id")
        .annotate(
            n=Count("placed_at"),
            days=Count(TruncDate("placed_at", tzinfo=dt.UTC), distinct=True),
            first=Min("placed_at"),
            last=Max("placed_at"),
            gross=_money_sum("total"),
            recent_n=Count("placed_at", filter=recent),
            recent_gross=_money_sum("total", filter=recent),
        )
        .order_by("customer_id")
        .values_list("customer_id", "n", "days", "first", "last", "gross", "recent_n", "recent_gross")
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8

    def floats(index: int) -> FloatArray:
        return np.array([v or 0.0 for v in columns[index]], dtype=np.float64)

    ids = np.array(columns[0], dtype=np.int64)
    refunded, subtotal, discount = _order_sums(orders, ids)
    first_at, last_at = list(columns[3]), list(columns[4])
    gross = floats(5)
    return PurchaseSummary(
        as_of=as_of,
        customer_ids=ids,
        orders=floats(1),
        purchase_days=floats(2),
        first_day=np.floor(np.array([d.timestamp() for d in first_at]) / DAY_SECONDS),
        last_day=np.floor(np.array([d.timestamp() for d in last_at]) / DAY_SECONDS),
        first_at=first_at,
        last_at=last_at,
        net_spent=gross - refunded,
        gross_spent=gross,
        subtotal=subtotal,
        discount=discount,
        recent_orders=floats(6),
        recent_spent=floats(7),
    )


def _order_sums(orders: Any, ids: NDArray[np.int64]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Refunded, list-price and discount totals per customer, aligned with ``ids`` (ascending)."""
    sums = np.zeros((3, ids.size))
    rows = orders.values("customer_id").annotate(
        refunded=_money_sum("refunded_total"), sub=_money_sum("subtotal"), disc=_money_sum("discount_total")
    )
    table = np.array(list(rows.values_list("customer_id", "refunded", "sub", "disc").order_by()), dtype=np.float64)
    if table.size:
        where = np.searchsorted(ids, table[:, 0].astype(np.int64))
        sums[:, where] = np.nan_to_num(table[:, 1:].T)
    return sums[0], sums[1], sums[2]


def buyers_between(start: dt.datetime, end: dt.datetime, customer_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of ``customer_ids`` placed a counted order in ``[start, end)``."""
    bought = set(
        Order.objects.filter(status__in=COUNTED_STATUSES, placed_at__gte=start, placed_at__lt=end)
        .exclude(customer__isnull=True)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return np.array([int(pk) in bought for pk in customer_ids], dtype=bool)


def preferred_categories(as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Each customer's category with the most spend (ties to the lower category id)."""
    lines = OrderLine.objects.filter(
        order__status__in=COUNTED_STATUSES,
        order__customer__isnull=False,
        order__placed_at__lt=as_of,
        product__category__isnull=False,
    )
    if customer_ids is not None:
        lines = lines.filter(order__customer_id__in=list(customer_ids))
    rows = list(
        lines.values("order__customer_id", "product__category_id")
        .annotate(spent=_money_sum("line_total"))
        .values_list("order__customer_id", "product__category_id", "spent")
        .order_by()
    )
    if not rows:
        return {}
    table = np.array(rows, dtype=np.float64)
    order = np.lexsort((table[:, 1], -table[:, 2], table[:, 0]))
    table = table[order]
    first = np.ones(len(table), dtype=bool)
    first[1:] = table[1:, 0] != table[:-1, 0]
    return {int(c): int(k) for c, k in table[first][:, :2]}
