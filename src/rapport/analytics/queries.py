"""Aggregations the analytics models read, pushed into the database; and what other apps read of
analytics (a customer's metrics).

One ``GROUP BY`` over the counted orders (the covering index serves it) per snapshot; nothing
loops over orders in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, DecimalField, F, FloatField, Func, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate
from numpy.typing import NDArray

from rapport.analytics.models import CustomerMetrics
from rapport.analytics.summary import RECENT_DAYS, PurchaseSummary
from rapport.commerce.models import Order, OrderLine
from rapport.commerce.queries import counted


def _money_sum(expression: object, **extra: object) -> Cast:
    return Cast(Sum(expression, output_field=DecimalField(max_digits=18, decimal_places=2), **extra), FloatField())  # type: ignore[arg-type]


class EpochSeconds(Func):
    """A moment as seconds since 1970 (UTC), a float. A million customers' first and last orders
    come back several times faster as numbers than as timestamps (PostgreSQL formats each one in
    the session's time zone, psycopg parses it back)."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # Django keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: whole seconds plus the fraction.
        template = "(CAST(strftime('%%%%s', %(expressions)s) AS REAL) + CAST(substr(%(expressions)s, 20) AS REAL))"
        return self.as_sql(compiler, connection, template=template, **extra_context)


SUMMARY_COLUMNS = (
    "customer_id",
    "n",
    "days",
    "first",
    "last",
    "gross",
    "recent_n",
    "recent_gross",
    "refunded",
    "subtotal",
    "discount",
)


def purchase_summary(as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> PurchaseSummary:
    """Counted orders placed before ``as_of``, per customer (only ``customer_ids`` if given).

    One query over the columns ``order_counted_sums_idx`` holds, so PostgreSQL answers it with
    an index-only scan in customer order and aggregates as it goes (the distinct purchase days
    included): no sort, no heap, no hash table. Every column comes back as a number and goes
    straight into one numpy array. The last 90 days' spend is before refunds."""
    orders = Order.objects.counted().filter(customer__isnull=False, placed_at__lt=as_of)
    if customer_ids is not None:
        orders = orders.filter(customer_id__in=list(customer_ids))
    recent = Q(placed_at__gte=as_of - dt.timedelta(days=RECENT_DAYS))
    rows = _raw_rows(
        orders.values("customer_id")
        .annotate(
            n=Count("placed_at"),
            days=Count(TruncDate("placed_at", tzinfo=dt.UTC), distinct=True),
            first=EpochSeconds(Min("placed_at")),
            last=EpochSeconds(Max("placed_at")),
            gross=_money_sum("total"),
            recent_n=Count("placed_at", filter=recent),
            recent_gross=_money_sum("total", filter=recent),
            refunded=_money_sum("refunded_total"),
            subtotal=_money_sum("subtotal"),
            discount=_money_sum("discount_total"),
        )
        .order_by("customer_id")
        .values_list(*SUMMARY_COLUMNS)
    )
    table = np.nan_to_num(np.array(rows, dtype=np.float64).reshape(-1, len(SUMMARY_COLUMNS)))  # NULL sums → 0
    column = dict(zip(SUMMARY_COLUMNS, table.T, strict=True))
    gross = column["gross"]
    return PurchaseSummary(
        as_of=as_of,
        customer_ids=column["customer_id"].astype(np.int64),
        orders=column["n"],
        purchase_days=column["days"],
        first_seconds=column["first"],
        last_seconds=column["last"],
        net_spent=gross - column["refunded"],
        gross_spent=gross,
        subtotal=column["subtotal"],
        discount=column["discount"],
        recent_orders=column["recent_n"],
        recent_spent=column["recent_gross"],
    )


def buyers_between(start: dt.datetime, end: dt.datetime, customer_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of ``customer_ids`` placed a counted order in ``[start, end)``."""
    bought = (
        Order.objects.counted()
        .filter(placed_at__gte=start, placed_at__lt=end)
        .exclude(customer__isnull=True)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return np.isin(customer_ids, np.fromiter(bought, dtype=np.int64))


def preferred_categories(as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Each customer's category with the most spend (ties to the lower category id).

    The database ranks the categories too, so one row per customer comes back rather than one per
    customer and category (6M rather than 1M at a million customers)."""
    lines = OrderLine.objects.filter(
        counted("order__"),
        order__customer__isnull=False,
        order__placed_at__lt=as_of,
        product__category__isnull=False,
    )
    if customer_ids is not None:
        lines = lines.filter(order__customer_id__in=list(customer_ids))
    spend = (
        lines.values(customer=F("order__customer_id"), category=F("product__category_id"))
        .annotate(spent=Sum("line_total"))
        .order_by()
    )
    # The ORM would group by the window over the sum; rank the grouped rows in an outer query.
    inner, params = spend.query.sql_with_params()
    ranked = (
        "SELECT customer, category FROM (SELECT customer, category, ROW_NUMBER() OVER "  # noqa: S608
        f"(PARTITION BY customer ORDER BY spent DESC, category) AS spend_rank FROM ({inner}) AS spend) AS ranked "
        "WHERE spend_rank = 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(ranked, params)
        return dict(cursor.fetchall())


def _raw_rows(queryset: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the driver returns them: Django would pass every value
    through a converter (a float to float), seconds at a million rows."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def metrics_of(customer_id: int) -> CustomerMetrics | None:
    """A customer's latest metrics (RFM, lifecycle, CLV, churn), or None before the first run."""
    return CustomerMetrics.objects.filter(customer_id=customer_id).first()


def expected_to_order_on(day: dt.date) -> QuerySet[CustomerMetrics]:
    """Customers the CLV model expected to order on ``day`` (its ``expected_next_order_on``)."""
    return CustomerMetrics.objects.filter(expected_next_order_on=day)


def high_value_last_ordered_on(day: dt.date) -> QuerySet[CustomerMetrics]:
    """Top and high value-tier customers whose last order was on ``day`` (UTC)."""
    return CustomerMetrics.objects.filter(value_tier__in=["top", "high"], last_order_at__date=day)
