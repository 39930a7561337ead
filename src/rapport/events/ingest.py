"""Storing accepted messages: exactly once, on the right customer, durably before the 200.

One transaction per request: claim each message id (a retry's id is already claimed and the
message is dropped), resolve identities, insert the events, apply e-commerce events. The
tracking view answers 200 only after that transaction commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.commerce.validation import CatalogueCache
from rapport.core.actor import Actor
from rapport.core.actor import Source as ActorSource
from rapport.core.changes import customers_changed
from rapport.events import ecommerce
from rapport.events.identity import IdentityResolver
from rapport.events.messages import Message
from rapport.events.models import Event, EventReceipt, EventType, ProcessingError, Source
from rapport.events.partitions import ensure_month_partitions
from rapport.events.signals import events_recorded

CLAIM_CHUNK = 300
_EVENT_COLUMNS = [
    "timestamp",
    "source_id",
    "message_id",
    "type",
    "name",
    "customer_id",
    "user_id",
    "anonymous_id",
    "properties",
    "traits",
    "context",
    "original_timestamp",
    "sent_at",
    "received_at",
]


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def claim_message_ids(source: Source, message_ids: list[str], received_at: dt.datetime) -> set[str]:
    """Insert receipts for these ids; return the ids that were new (retries come back empty)."""
    table = EventReceipt._meta.db_table
    conflict = "ON CONFLICT (source_id, message_id) DO NOTHING RETURNING message_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # one statement with an array parameter: no placeholder list to build and parse
            cursor.execute(
                f"INSERT INTO {table} (source_id, message_id, received_at) "  # noqa: S608
                f"SELECT %s, message_id, %s FROM unnest(%s::text[]) AS message_id {conflict}",
                [source.pk, received_at, message_ids],
            )
            return {row[0] for row in cursor.fetchall()}
        new: set[str] = set()
        for start in range(0, len(message_ids), CLAIM_CHUNK):
            chunk = message_ids[start : start + CLAIM_CHUNK]
            params: list[int | str | dt.datetime] = []
            for message_id in chunk:
                params.extend([source.pk, message_id, received_at])
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (source_id, message_id, received_at) VALUES {values} {conflict}",  # noqa: S608
                params,
            )
            new.update(row[0] for row in cursor.fetchall())
    return new


def _store(source: Source, messages: list[Message]) -> None:
    ensure_month_partitions([m.timestamp for m in messages])
    if connection.vendor == "postgresql":
        _copy_events(source, messages)
        return
    Event.objects.bulk_create(
        [
            Event(
                timestamp=m.timestamp,
                source_id=source.pk,
                message_id=m.message_id,
                type=m.type,
                name=m.name,
                customer_id=m.customer_id,
                user_id=m.user_id,
                anonymous_id=m.anonymous_id,
                properties=m.properties,
                traits=m.traits,
                context=m.context,
                original_timestamp=m.original_timestamp,
                sent_at=m.sent_at,
                received_at=m.received_at,
            )
            for m in messages
        ],
        batch_size=500,
    )


def _copy_events(source: Source, messages: list[Message]) -> None:
    """PostgreSQL ``COPY``: the fastest way in, inside the same transaction."""
    columns = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
    statement = f'COPY "{Event._meta.db_table}" ({columns}) FROM STDIN'
    with connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
        for m in messages:
            copy.write_row(
                (
                    m.timestamp,
                    source.pk,
                    m.message_id,
                    m.type,
                    m.name,
                    m.customer_id,
                    m.user_id,
                    m.anonymous_id,
                    orjson.dumps(m.properties).decode(),
                    orjson.dumps(m.traits).decode(),
                    orjson.dumps(m.context).decode(),
                    m.original_timestamp,
                    m.sent_at,
                    m.received_at,
                )
            )


def _lock_identity_graph(*, exclusive: bool) -> None:
    """Serialise changes to the identity graph (PostgreSQL; SQLite has one writer anyway).

    Batches that identify or alias take the lock exclusively, the others share it: a track
    never runs beside an identify, so either the track sees the new identity or the identify's
    back-fill sees the committed track, and two identifies of the same new person never both
    create them. Anonymous ids are shared by every source, so the lock is one for all.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtext('rapport-identity-graph'))")


def ingest(source: Source, messages: list[Message]) -> IngestResult:
    """Store a request's messages once each; return how many were new and how many retries."""
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    received_at = messages[0].received_at if messages else timezone.now()
    changes_identities = any(m.type in (EventType.IDENTIFY, EventType.ALIAS) for m in unique.values())
    with transaction.atomic():
        _lock_identity_graph(exclusive=changes_identities)
        new_ids = claim_message_ids(source, list(unique), received_at)
        fresh = [message for message_id, message in unique.items() if message_id in new_ids]
        if fresh:
            resolver = IdentityResolver(source)
            resolver.apply(fresh)
            _store(source, fresh)
            _apply_commerce(source, fresh)
            customers_changed(m.customer_id for m in fresh)
            events_recorded.send(sender=Source, source=source, messages=fresh)
    if fresh:
        # Outside the transaction and at most once a minute: every request of a source would
        # otherwise queue on this one row.
        Source.objects.filter(pk=source.pk).filter(
            Q(last_event_at__isnull=True) | Q(last_event_at__lt=received_at - dt.timedelta(minutes=1))
        ).update(last_event_at=received_at)
    return IngestResult(accepted=len(fresh), duplicates=len(messages) - len(fresh))


def _apply_commerce(source: Source, messages: list[Message]) -> None:
    orders = [m for m in messages if m.type == EventType.TRACK and m.name in ecommerce.ORDER_EVENTS]
    if not orders:
        return
    actor = Actor(source=ActorSource.TRACKING, label=f"tracking · {source.name}")
    cache = CatalogueCache()
    for message in orders:
        errors = ecommerce.apply_commerce_event(message, channel=source.identity_channel, actor=actor, cache=cache)
        ProcessingError.objects.bulk_create(
            ProcessingError(
                source=source, message_id=message.message_id, event_name=message.name, field=e.field, message=e.message
            )
            for e in errors
        )
