"""Accepting messages: store or stage the request's validated messages, durably, in one transaction.

The tracking view answers 200 once this transaction commits. Plain events (track, page, screen,
group) are stored by the request itself on PostgreSQL (:mod:`rapport.events.inline`). Identify,
alias and order events — and on SQLite every message — are appended to the staging table for the
resolver (:mod:`rapport.events.resolver`), which is woken once the transaction has committed and
normally stores them within a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.events import inline, resolver
from rapport.events.messages import Message
from rapport.events.models import Source, StagedMessage

_STAGED_TABLE = StagedMessage._meta.db_table


@dataclass(frozen=True)
class IngestResult:
    """``accepted``: messages stored or staged; ``duplicates``: repeated message ids inside the request.

    A retry of an earlier request is accepted again here; its receipt (the message ids already
    received) then drops it, in the request or in the resolver.
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
        m.body.decode(),
    )


def _append(source: Source, messages: Iterable[Message]) -> None:
    columns = ", ".join(f'"{c}"' for c in _STAGED_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f'COPY "{_STAGED_TABLE}" ({columns}) FROM STDIN') as copy:
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


_noted_at: dict[int, dt.datetime] = {}
_NOTE_EVERY = dt.timedelta(minutes=1)


def _note_last_event(source: Source, received_at: dt.datetime) -> None:
    """Keep ``Source.last_event_at`` to the minute: outside the transaction, and at most once a
    minute per source (per process, and in the database): every request of a source would
    otherwise queue on this one row."""
    noted = _noted_at.get(source.pk)
    if source.last_event_at is not None and noted is not None and received_at - noted < _NOTE_EVERY:
        return
    _noted_at[source.pk] = received_at
    Source.objects.filter(pk=source.pk).filter(
        Q(last_event_at__isnull=True) | Q(last_event_at__lt=received_at - _NOTE_EVERY)
    ).update(last_event_at=received_at)


def ingest(source: Source, messages: list[Message]) -> IngestResult:
    """Store or stage a request's messages (each message id once); wake the resolver after commit."""
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    received_at = messages[0].received_at if messages else timezone.now()
    plain: list[Message] = []
    staged: list[Message] = []
    if connection.vendor == "postgresql":
        for message in unique.values():
            (plain if inline.resolves_inline(message) else staged).append(message)
    else:
        staged = list(unique.values())
    if unique:
        with resolver.sqlite_writer_turn():
            with transaction.atomic():
                if staged:
                    _append(source, staged)
                if plain:
                    resolver.announce(source, inline.store(source, plain))
            _note_last_event(source, received_at)
        if staged:
            resolver.wake()
    return IngestResult(accepted=len(unique), duplicates=len(messages) - len(unique))
