"""Incremental re-evaluation of automatic tags when customers' data changes.

Domains that write customer data in bulk (event ingestion, order upserts, merges) call
:func:`customers_changed` with the customers they touched; after their transaction commits a
job re-evaluates the automatic tags for those customers only (rule ``AND pk IN ids``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from rapport.core.jobs import enqueue
from rapport.tags.models import Tag

_ANY_AUTOMATIC = f"SELECT 1 FROM {Tag._meta.db_table} WHERE type = %s AND is_active LIMIT 1"  # noqa: S608


def _any_automatic_tag() -> bool:
    """Plain SQL: this runs for every tracking request, where the ORM's query building showed up."""
    with connection.cursor() as cursor:
        cursor.execute(_ANY_AUTOMATIC, [Tag.Type.AUTOMATIC])
        return cursor.fetchone() is not None


def customers_changed(customer_ids: Iterable[int | None]) -> None:
    """Re-evaluate automatic tags for these customers after the current transaction commits."""
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids or not _any_automatic_tag():
        return
    from rapport.tags.tasks import reevaluate_customers

    enqueue(reevaluate_customers, ids)
