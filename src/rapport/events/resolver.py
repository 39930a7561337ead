"""Resolving staged messages into events: exactly once, in order, on the right customer.

The tracking API only appends validated messages to :class:`~rapport.events.models.StagedMessage`
(see :mod:`rapport.events.ingest`). The resolver claims the oldest staged rows in one
transaction (``DELETE … ORDER BY id LIMIT n … RETURNING``), drops message ids already received
(the receipts' unique key), resolves identities, stores the events, applies e-commerce events,
sends ``events_recorded``, and commits: a crash in between rolls the claim back, so every staged
message is resolved once, never twice and never lost.

**One lane.** Chunks are resolved one at a time across all processes (the identity-graph
advisory lock on PostgreSQL, a process lock and SQLite's single writer otherwise), each taking
the lowest ids left. A client sends its next batch only after the 200 for the previous one, so
the next batch's rows are committed later and get higher ids: a device's identify is always
resolved before the track that follows it, even when the two fall into different chunks.

**Who runs it.** :func:`wake` is called when a request's staging transaction commits: inline
when jobs run synchronously (tests), a background thread of the server process in the embedded
default (which also sweeps every few seconds), the ``rapport.events.resolve`` Celery task with a
broker. ``rapport events_resolve`` runs the lane as a dedicated worker process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, connections, transaction

from rapport.commerce.validation import CatalogueCache
from rapport.core.actor import Actor
from rapport.core.actor import Source as ActorSource
from rapport.core.changes import customers_changed
from rapport.events import ecommerce
from rapport.events.identity import IdentityResolver
from rapport.events.messages import Message, from_staged_text
from rapport.events.models import Event, EventReceipt, EventType, ProcessingError, Source, StagedMessage
from rapport.events.partitions import ensure_month_partitions
from rapport.events.signals import events_recorded

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
SWEEP_SECONDS = 2.0
CELERY_WAKE_SECONDS = 1.0
VACUUM_EVERY = 100_000

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


def claim_message_ids(source: Source, messages: list[Message]) -> set[str]:
    """Insert receipts for these messages' ids; return the ids that were new (retries come back empty)."""
    table = EventReceipt._meta.db_table
    conflict = "ON CONFLICT (source_id, message_id) DO NOTHING RETURNING message_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, the rows as one JSON parameter: no placeholder list to build and
            # parse, and orjson writes it far faster than psycopg quotes array elements.
            cursor.execute(
                f"INSERT INTO {table} (source_id, message_id, received_at) "  # noqa: S608
                f"SELECT %s, row->>0, (row->>1)::timestamptz FROM json_array_elements(%s::json) AS row {conflict}",
                [source.pk, orjson.dumps([(m.message_id, m.received_at) for m in messages]).decode()],
            )
            return {row[0] for row in cursor.fetchall()}
        new: set[str] = set()
        for start in range(0, len(messages), CLAIM_CHUNK):
            chunk = messages[start : start + CLAIM_CHUNK]
            params: list[int | str | dt.datetime] = []
            for message in chunk:
                params.extend([source.pk, message.message_id, message.received_at])
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


def _lock_lane() -> None:
    """Serialise resolution across processes: one chunk at a time, in id order.

    On PostgreSQL the transaction-level advisory lock that guarded the identity graph when
    requests resolved their own messages; SQLite has one writer at a time anyway (and the
    process lock in :func:`resolve_chunk`).
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('rapport-identity-graph'))")


def resolve_messages(source: Source, messages: list[Message]) -> int:
    """Store one source's messages, in order, inside the caller's transaction; return how many were new.

    A message id seen before (a client's retry, or twice in the list) is dropped.
    """
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    new_ids = claim_message_ids(source, list(unique.values()))
    fresh = [message for message_id, message in unique.items() if message_id in new_ids]
    if not fresh:
        return 0
    resolver = IdentityResolver(source)
    resolver.apply(fresh)
    _store(source, fresh)
    _apply_commerce(source, fresh)
    customers_changed(m.customer_id for m in fresh)
    events_recorded.send(sender=Source, source=source, messages=fresh)
    return len(fresh)


@dataclass(frozen=True)
class ChunkResult:
    claimed: int
    stored: int


_CLAIM_POSTGRESQL = (
    f'DELETE FROM "{StagedMessage._meta.db_table}" WHERE id IN ('  # noqa: S608
    f'SELECT id FROM "{StagedMessage._meta.db_table}" ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) '
    # as UTF-8 bytes: orjson parses them twice as fast as a str
    "RETURNING id, source_id, convert_to(message, 'UTF8')"
)
_CLAIM_SQLITE = (
    f'DELETE FROM "{StagedMessage._meta.db_table}" WHERE id IN ('  # noqa: S608
    f'SELECT id FROM "{StagedMessage._meta.db_table}" ORDER BY id LIMIT %s) '
    "RETURNING id, source_id, message"
)
_process_lane = threading.Lock()


def sqlite_writer_turn() -> AbstractContextManager[object]:
    """On SQLite, staging writes and resolution chunks of one process take turns.

    SQLite has one writer at a time anyway; taking turns here spares the request threads and
    the resolver thread the lock errors of a shared-cache database (the test database) and the
    busy-waiting of a file one. On PostgreSQL nothing is held.
    """
    return _process_lane if connection.vendor == "sqlite" else nullcontext()


def resolve_chunk(limit: int = CHUNK_SIZE) -> ChunkResult:
    """Claim the oldest ``limit`` staged messages and resolve them, all in one transaction."""
    with _process_lane, transaction.atomic():
        _lock_lane()
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_POSTGRESQL if connection.vendor == "postgresql" else _CLAIM_SQLITE, [limit])
            rows = sorted(cursor.fetchall())
        if not rows:
            return ChunkResult(claimed=0, stored=0)
        stored = 0
        try:
            for source, messages in _by_source(rows):
                stored += resolve_messages(source, messages)
        except OperationalError:
            raise
        except Exception as exc:
            raise ChunkFailed(first_id=rows[0][0]) from exc
        return ChunkResult(claimed=len(rows), stored=stored)


class ChunkFailed(Exception):
    """Resolving a chunk raised (and rolled back); ``first_id`` is its oldest staged row."""

    def __init__(self, first_id: int) -> None:
        super().__init__(f"resolving the chunk from staged message #{first_id} failed")
        self.first_id = first_id


def _by_source(rows: list[tuple[int, int, str | bytes]]) -> Iterable[tuple[Source, list[Message]]]:
    """The chunk's messages per source, each in staging order.

    Sources are resolved one after the other: identify back-fills events stored earlier without
    a customer, so a track of one source resolved before another source's identify of the same
    person still ends up on them (as when two sources' requests raced before staging existed).
    """
    grouped: dict[int, list[Message]] = {}
    for _id, source_id, text in rows:
        grouped.setdefault(source_id, []).append(from_staged_text(text))
    sources = Source.objects.in_bulk(list(grouped))
    for source_id, messages in grouped.items():
        source = sources.get(source_id)
        if source is None:
            logger.warning("dropping %d staged messages of deleted source #%s", len(messages), source_id)
            continue
        yield source, messages


def resolve_pending(*, limit: int = CHUNK_SIZE) -> int:
    """Resolve chunks until nothing is staged; return how many new events were stored.

    A chunk that fails is retried in halves, so one message that cannot be resolved (a bug, bad
    data the validation let through) is set aside as a processing error instead of blocking
    every message behind it. Database errors such as a lost connection stop the round: the
    rows stay staged for the next one.
    """
    stored = claimed = 0
    size = limit
    while True:
        try:
            result = resolve_chunk(size)
        except ChunkFailed as failed:
            if size > 1:
                size = max(1, size // 2)
                continue
            _set_aside(failed.first_id, failed.__cause__ or failed)
            size = limit
            continue
        stored += result.stored
        claimed += result.claimed
        if result.claimed < size:
            _vacuum_staging_when_due(claimed)
            return stored
        size = limit


_claimed_since_vacuum = 0


def _vacuum_staging_when_due(claimed: int) -> None:
    """``VACUUM`` the staging table after every ``VACUUM_EVERY`` rows resolved (PostgreSQL).

    The table is a queue: every row is deleted soon after it is written. Vacuuming it here
    reclaims the space and keeps the claim's index scan short without depending on autovacuum
    (which may be off, or slow to visit a table this busy). Outside any transaction only.
    """
    global _claimed_since_vacuum
    _claimed_since_vacuum += claimed
    if _claimed_since_vacuum < VACUUM_EVERY or connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    _claimed_since_vacuum = 0
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM "{StagedMessage._meta.db_table}"')


def _set_aside(staged_id: int, exc: BaseException) -> None:
    """Move one staged message out of the lane, recorded as a processing error."""
    logger.error("staged message #%s could not be resolved; set aside: %s", staged_id, exc)
    with _process_lane, transaction.atomic():
        _lock_lane()
        staged = StagedMessage.objects.filter(pk=staged_id).first()
        if staged is None:
            return
        message = from_staged_text(staged.message)
        ProcessingError.objects.create(
            source_id=staged.source_id,
            message_id=message.message_id,
            event_name=message.name or message.type,
            field="",
            message=f"could not be resolved: {exc}"[:1000],
        )
        staged.delete()


# Waking the resolver ---------------------------------------------------------------------------


class _ResolverThread:
    """The embedded default's resolver: a daemon thread of the server process.

    Woken after each staging commit; also sweeps every ``SWEEP_SECONDS`` so rows staged by a
    process that stopped before resolving them are picked up.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wake(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name="rapport-events-resolver", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def stop(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wakeup.set()
            thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wakeup.wait(SWEEP_SECONDS)
                self._wakeup.clear()
                if self._stopping.is_set():
                    return
                try:
                    resolve_pending()
                except Exception:
                    logger.exception("resolving staged events failed; retrying at the next wake-up")
                finally:
                    close_old_connections()
        finally:
            connections.close_all()


_thread = _ResolverThread()


class _CeleryWakeUps:
    """At most one ``rapport.events.resolve`` task a second per process, none ever missed.

    Every commit needs a task that starts after it. A commit finding such a task already
    scheduled sends nothing; otherwise it sends one now, or, within a second of the last one,
    one that starts when that second is over.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_sent = float("-inf")
        self._next_start = float("-inf")

    def wake(self, now: float) -> None:
        with self._lock:
            if self._next_start > now:
                return
            delay = max(0.0, self._last_sent + CELERY_WAKE_SECONDS - now)
            self._last_sent = self._next_start = now + delay
        from rapport.events.tasks import resolve_events

        if delay:
            resolve_events.apply_async(countdown=delay)
        else:
            resolve_events.apply_async()


_celery = _CeleryWakeUps()


def start_in_process_resolver() -> None:
    """Start the background resolver now (it also starts itself at the first staged request)."""
    if settings.RAPPORT_JOBS_INPROCESS and not settings.RAPPORT_JOBS_SYNC:
        _thread.wake()


def stop_in_process_resolver() -> None:
    """Stop the background resolver after its current chunk (tests; server shutdown)."""
    _thread.stop()


def wake() -> None:
    """Have the staged messages resolved soon (called once a staging transaction committed).

    Synchronous jobs (tests) resolve at once in the caller; errors are logged, never raised:
    the request's messages are staged and its 200 stands, the next wake-up retries.
    """
    if settings.RAPPORT_JOBS_SYNC:
        try:
            resolve_pending()
        except Exception:
            logger.exception("resolving staged events failed")
    elif settings.RAPPORT_JOBS_INPROCESS:
        _thread.wake()
    else:
        _celery.wake(time.monotonic())


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
