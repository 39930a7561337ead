"""Accepting messages: append the request's validated messages to the staging table, durably.

The tracking view answers 200 once this transaction commits. Nothing else happens in the
request: de-duplication against earlier message ids, identities, commerce and the
``events_recorded`` signal are the resolver's work (:mod:`rapport.events.resolver`), which is
woken once the transaction has committed and normally stores the events within a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.events import resolver
from rapport.events.messages import Message, staged_text
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


def _append(source: Source, received_at: dt.datetime, rows: list[str]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statement = f'COPY "{_STAGED_TABLE}" (source_id, received_at, message) FROM STDIN'
            with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row((source.pk, received_at, row))
            return
        cursor.executemany(
            f'INSERT INTO "{_STAGED_TABLE}" (source_id, received_at, message) VALUES (%s, %s, %s)',  # noqa: S608
            [(source.pk, received_at, row) for row in rows],
        )


def ingest(source: Source, messages: list[Message]) -> IngestResult:
    """Stage a request's messages (each message id once) and wake the resolver after commit."""
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    received_at = messages[0].received_at if messages else timezone.now()
    if unique:
        rows = [staged_text(message) for message in unique.values()]
        with resolver.sqlite_writer_turn():
            with transaction.atomic():
                _append(source, received_at, rows)
            # Outside the transaction and at most once a minute: every request of a source
            # would otherwise queue on this one row.
            Source.objects.filter(pk=source.pk).filter(
                Q(last_event_at__isnull=True) | Q(last_event_at__lt=received_at - dt.timedelta(minutes=1))
            ).update(last_event_at=received_at)
        resolver.wake()
    return IngestResult(accepted=len(unique), duplicates=len(messages) - len(unique))
