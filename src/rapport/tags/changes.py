"""Adding and removing one tag for a whole set of customers, set-based in SQL.

A set of customers is a queryset; it becomes one ``INSERT … SELECT … ON CONFLICT DO NOTHING
RETURNING`` (or ``DELETE … RETURNING``), so the database decides who really changed — a
customer who already holds the tag is skipped by the unique constraint, even under concurrent
writers — and only those get a history entry and a sync delivery, written in chunked bulk
inserts. Callers hold the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.tags import sync
from rapport.tags.models import CustomerTag, Tag, TagBatch, TagHistory

HISTORY_CHUNK = 2000


@dataclass(frozen=True)
class Change:
    """Who changes a tag, through what, and why (the rule, batch or merge behind it)."""

    actor: Actor
    source: str
    at: dt.datetime
    batch: TagBatch | None = None
    reference: str = ""


def _subquery(customers: QuerySet[Customer]) -> tuple[str, tuple[Any, ...]]:
    sql, params = customers.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


def insert_links(tag: Tag, customers: QuerySet[Customer], change: Change) -> list[int]:
    """Give ``tag`` to ``customers``; answer the ids that did not hold it before."""
    sql, params = _subquery(customers)
    quote = connection.ops.quote_name
    user = change.actor.staff_user
    customers_table = quote(Customer._meta.db_table)
    statement = (
        f"INSERT INTO {quote(CustomerTag._meta.db_table)} "  # noqa: S608 - names quoted, values bound
        "(customer_id, tag_id, added_at, added_by_id, added_by_label, source) "
        f"SELECT c.{quote('id')}, %s, %s, %s, %s, %s FROM {customers_table} c WHERE c.{quote('id')} IN ({sql}) "
        # In customer order, so that overlapping batches take the unique-key locks in the same order
        # (in plan order they deadlocked: two batches waiting on each other's uncommitted rows).
        f"ORDER BY c.{quote('id')} "
        "ON CONFLICT (customer_id, tag_id) DO NOTHING RETURNING customer_id"
    )
    values: list[Any] = [
        tag.pk,
        connection.ops.adapt_datetimefield_value(change.at),
        user.pk if user is not None else None,
        change.actor.describe()[:150],
        str(change.source),
        *params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        added = sorted(row[0] for row in cursor.fetchall())
    record_changes(tag, added, TagHistory.Action.ADDED, change)
    return added


def delete_links(tag: Tag, customers: QuerySet[Customer], change: Change) -> list[int]:
    """Take ``tag`` from ``customers``; answer the ids that held it."""
    sql, params = _subquery(customers)
    quote = connection.ops.quote_name
    statement = (
        f"DELETE FROM {quote(CustomerTag._meta.db_table)} "  # noqa: S608 - names quoted, values bound
        f"WHERE tag_id = %s AND customer_id IN ({sql}) RETURNING customer_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [tag.pk, *params])
        removed = sorted(row[0] for row in cursor.fetchall())
    record_changes(tag, removed, TagHistory.Action.REMOVED, change)
    return removed


def record_changes(tag: Tag, customer_ids: list[int], action: str, change: Change) -> None:
    """History entries (and sync deliveries) for customers whose ``tag`` really changed."""
    if not customer_ids:
        return
    user = change.actor.staff_user
    label = change.actor.describe()[:150]
    endpoints = sync.endpoints_for(tag)
    for start in range(0, len(customer_ids), HISTORY_CHUNK):
        entries = TagHistory.objects.bulk_create(
            [
                TagHistory(
                    customer_id=customer_id,
                    tag=tag,
                    action=action,
                    actor=user,
                    actor_label=label,
                    source=change.source,
                    batch=change.batch,
                    reference=change.reference[:200],
                    at=change.at,
                )
                for customer_id in customer_ids[start : start + HISTORY_CHUNK]
            ],
            batch_size=500,
        )
        written = sync.write_outbox(tag, entries, endpoints)
    if endpoints and written:
        sync.schedule_delivery()
