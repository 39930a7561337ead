"""Incremental re-evaluation of automatic tags when customers' data changes.

Domains that write customer data in bulk (event ingestion, order upserts, merges) call
:func:`customers_changed` with the customers they touched; after their transaction commits a
job re-evaluates the automatic tags for those customers only (rule ``AND pk IN ids``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.core.jobs import enqueue
from rapport.tags.models import Tag


def customers_changed(customer_ids: Iterable[int | None]) -> None:
    """Re-evaluate automatic tags for these customers after the current transaction commits."""
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids or not Tag.objects.filter(type=Tag.Type.AUTOMATIC, is_active=True).exists():
        return
    from rapport.tags.tasks import reevaluate_customers

    enqueue(reevaluate_customers, ids)
