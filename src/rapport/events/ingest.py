"""Accepting messages: append the request's validated messages to the staging table, durably.

The tracking view answers 200 once this transaction commits. Nothing else happens in the
request: de-duplication against earlier message ids, identities, commerce and the
``events_recorded`` signal are the resolver's work (:mod:`rapport.events.resolver`), which is
woken once the transaction has committed and normally stores the events within a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.events import resolver
from rapport.events.messages import Message
from rapport.events.models import Source, StagedMessage

_STAGED_TABLE = StagedMessage._meta.db_table


@dataclass(frozen=True)
class IngestResult:
    """``accepted``: messages staged; ``duplicates``: repeated message ids inside the request.

    A retry of an earlier request is accepted again here and dropped by the resolver, which
    alone knows every message id already stored.
    """

    accepted: int
    duplicates: int


_STAGED_COLUMNS = (
    "source_id",
    "received_at",
    "timestamp",
    "type",
    "name",
    "message_id",
    "user_id",
    "anonymous_id",
    "previous_id",
    "original_timestamp",
    "sent_at",
    "body",
)


def _staged_row(source: Source, m: Message) -> tuple[Any, ...]:
    return (
        source.pk,
        m.received_at,
        m.timestamp,
        m.type,
        m.name,
        m.message_id,
        m.user_id,
        m.anonymous_id,
        m.previous_id,
        m.original_timestamp,
        m.sent_at,
        m.body,
    )


def _append(source: Source, messages: Iterable[Message]) -> None:
    columns = ", ".join(f'"{c}"' for c in _STAGED_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f'COPY "{_STAGED_TABLE}" ({columns}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for message in messages:
                    copy.write_row(_staged_row(source, message))
            return
        # datetimes as the ORM writes them, so the resolver copies them into events unchanged
        adapt = connection.ops.adapt_datetimefield_value
        cursor.executemany(
            f'INSERT INTO "{_STAGED_TABLE}" ({columns}) VALUES ({", ".join(["%s"] * len(_STAGED_COLUMNS))})',  # noqa: S608
            [
                tuple(adapt(value) if isinstance(value, dt.datetime) else value for value in _staged_row(source, m))
                for m in messages
            ],
        )


def ingest(source: Source, messages: list[Message]) -> IngestResult:
    """Stage a request's messages (each message id once) and wake the resolver after commit."""
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    received_at = messages[0].received_at if messages else timezone.now()
    if unique:
        with resolver.sqlite_writer_turn():
            with transaction.atomic():
                _append(source, unique.values())
            # Outside the transaction and at most once a minute: every request of a source
            # would otherwise queue on this one row.
            Source.objects.filter(pk=source.pk).filter(
                Q(last_event_at__isnull=True) | Q(last_event_at__lt=received_at - dt.timedelta(minutes=1))
            ).update(last_event_at=received_at)
        resolver.wake()
    return IngestResult(accepted=len(unique), duplicates=len(messages) - len(unique))
