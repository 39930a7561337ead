"""Per-customer transaction statistics, computed by one aggregate query per batch of customers.

Called in the same transaction as every order or refund write, and once per batch by imports,
so the statistics are never stale and never recomputed row by row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum

from rapport.commerce.models import ZERO, CustomerStats, Order, Refund, RefundStatus
from rapport.core.changes import Change, customers_changed

CENT = Decimal("0.01")
BATCH = 2000


_deferral = threading.local()


@contextmanager
def deferred_stats() -> Iterator[None]:
    """Collect the customers whose statistics need refreshing and refresh them once, on exit.

    Imports wrap each batch (one transaction) in it: one aggregate query per batch instead of
    one per order. Use it inside the transaction that writes the orders, so the statistics are
    still right when it commits.
    """
    if getattr(_deferral, "ids", None) is not None:  # already deferring: the outer block refreshes
        yield
        return
    _deferral.ids = set()
    try:
        yield
        pending = _deferral.ids
    finally:
        _deferral.ids = None
    refresh_customer_stats(pending)


def refresh_customer_stats(customer_ids: Iterable[int | None]) -> None:
    ids = sorted({pk for pk in customer_ids if pk is not None})
    deferred = getattr(_deferral, "ids", None)
    if deferred is not None:
        deferred.update(ids)
        return
    for start in range(0, len(ids), BATCH):
        _refresh_batch(ids[start : start + BATCH])
    customers_changed(ids, kind=Change.ORDERS)


STATS_COLUMNS = [
    "currency",
    "order_count",
    "total_spent",
    "total_refunded",
    "net_spent",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "refund_count",
    "updated_at",
]


def _refresh_batch(ids: list[int]) -> None:
    CustomerStats.objects.bulk_create(
        compute_stats(ids), update_conflicts=True, unique_fields=["customer"], update_fields=STATS_COLUMNS
    )


def compute_stats(ids: list[int]) -> list[CustomerStats]:
    """The statistics of these customers (at most ``BATCH``), from one aggregate query over their
    orders and one over their refunds: the one definition, also used by the bulk import's writer."""
    currency = settings.RAPPORT_CURRENCY
    rows = (
        Order.objects.counted()
        .filter(customer_id__in=ids, currency=currency)
        .values("customer_id")
        .annotate(
            order_count=Count("id"),
            total_spent=Sum("total"),
            total_refunded=Sum("refunded_total"),
            first_order_at=Min("placed_at"),
            last_order_at=Max("placed_at"),
        )
    )
    refund_counts = dict(
        Refund.objects.filter(order__customer_id__in=ids, status=RefundStatus.COMPLETED)
        .values("order__customer_id")
        .annotate(n=Count("id"))
        .values_list("order__customer_id", "n")
    )
    by_customer = {row["customer_id"]: row for row in rows}
    objects = []
    for pk in ids:
        row = by_customer.get(pk)
        count = row["order_count"] if row else 0
        spent = Decimal(row["total_spent"] or 0) if row else ZERO
        refunded = Decimal(row["total_refunded"] or 0) if row else ZERO
        objects.append(
            CustomerStats(
                customer_id=pk,
                currency=currency,
                order_count=count,
                total_spent=spent.quantize(CENT),
                total_refunded=refunded.quantize(CENT),
                net_spent=(spent - refunded).quantize(CENT),
                average_order_value=(spent / count).quantize(CENT, ROUND_HALF_UP) if count else ZERO,
                first_order_at=row["first_order_at"] if row else None,
                last_order_at=row["last_order_at"] if row else None,
                refund_count=refund_counts.get(pk, 0),
            )
        )
    return objects


def stats_match_orders(customer_id: int) -> bool:
    """For tests and checks: do the kept statistics equal a fresh computation?"""
    kept = CustomerStats.objects.filter(customer_id=customer_id).first()
    fresh = (
        Order.objects.counted()
        .filter(Q(customer_id=customer_id), currency=settings.RAPPORT_CURRENCY)
        .aggregate(n=Count("id"), spent=Sum("total"), refunded=Sum("refunded_total"))
    )
    if kept is None:
        return fresh["n"] == 0
    return (
        kept.order_count == fresh["n"]
        # SQLite sums decimals as floats: compare in cents
        and kept.total_spent == Decimal(fresh["spent"] or 0).quantize(CENT, ROUND_HALF_UP)
        and kept.total_refunded == Decimal(fresh["refunded"] or 0).quantize(CENT, ROUND_HALF_UP)
    )
