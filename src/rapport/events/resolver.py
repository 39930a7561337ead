"""Resolving staged messages into events: exactly once, in order, on the right customer.

The tracking API only appends validated messages to :class:`~rapport.events.models.StagedMessage`
(see :mod:`rapport.events.ingest`). The resolver claims the oldest staged rows in one
transaction (``SELECT … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED``), drops message ids already
received (the receipts' unique key), resolves identities, copies the rows into events with the
customers it found (``INSERT … SELECT``: their JSON never passes through Python), applies
e-commerce events, sends ``events_recorded``, deletes the claimed rows and commits: a crash in
between rolls everything back, so every staged message is resolved once, never twice and never
lost.

**One lane.** Chunks are resolved one at a time across all processes (the advisory lock
``rapport-events-lane`` on PostgreSQL, a process lock and SQLite's single writer otherwise), each taking
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
import functools
import logging
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, connections, transaction

from rapport.commerce.validation import CatalogueCache
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.actor import Source as ActorSource
from rapport.core.changes import Change, customers_changed
from rapport.core.dates import EpochMicroseconds, from_epoch_microseconds
from rapport.customers.merge import lock_identity_graph
from rapport.events import ecommerce
from rapport.events.identity import IdentityResolver
from rapport.events.messages import BODY_OBJECTS, Message, body_object_sql, objects_from_body
from rapport.events.models import Event, EventReceipt, EventType, ProcessingError, Source, StagedMessage
from rapport.events.partitions import ensure_month_partitions
from rapport.events.personal import for_customers, holds_sealed
from rapport.events.signals import events_recorded
from rapport.privacy.tombstones import anonymise_stored

logger = logging.getLogger(__name__)

# Small: a chunk holding identify calls holds the identity-graph lock, which requests wait for.
CHUNK_SIZE = 250
SWEEP_SECONDS = 2.0
CELERY_WAKE_SECONDS = 1.0
VACUUM_EVERY = 100_000

CLAIM_CHUNK = 300
# columns copied as they are from a staged row into its event
_COPIED_COLUMNS = (
    "timestamp",
    "source_id",
    "message_id",
    "type",
    "name",
    "user_id",
    "anonymous_id",
    "original_timestamp",
    "sent_at",
    "received_at",
)


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


@functools.cache
def _store_statement(vendor: str) -> str:
    """Copy staged rows into events inside the database, each with the customer Python resolved.

    The parameter is a JSON list of ``[staged id, customer id]``. The bodies never come back to
    Python: the database parses each once, straight into the event's JSON columns.
    """
    staged = StagedMessage._meta.db_table
    if vendor == "postgresql":
        rows = (
            f"json_array_elements(%s::json) AS r JOIN {staged} s ON s.id = (r ->> 0)::bigint "
            # parsed once a row, not once for each object taken from it
            "CROSS JOIN LATERAL (SELECT s.body::jsonb AS j OFFSET 0) b"
        )
        customer = "(r ->> 1)::bigint"
    else:
        rows = f"json_each(%s) AS r JOIN {staged} s ON s.id = json_extract(r.value, '$[0]')"
        customer = "json_extract(r.value, '$[1]')"
    copied = ", ".join(f"s.{column}" for column in _COPIED_COLUMNS)
    body = "b.j" if vendor == "postgresql" else "s.body"
    objects = ", ".join(body_object_sql(body, key, vendor) for key in BODY_OBJECTS)
    return (
        f"INSERT INTO {Event._meta.db_table} ({', '.join(_COPIED_COLUMNS)}, customer_id, {', '.join(BODY_OBJECTS)}) "  # noqa: S608
        f"SELECT {copied}, {customer}, {objects} FROM {rows} ORDER BY s.id"
    )


def _store(source: Source, messages: list[Message]) -> None:
    ensure_month_partitions([m.timestamp for m in messages])
    pairs = orjson.dumps([(m.staged_id, m.customer_id) for m in messages]).decode()
    with connection.cursor() as cursor:
        cursor.execute(_store_statement(connection.vendor), [pairs])


def _lock_lane() -> None:
    """Serialise resolution across processes: one chunk at a time, in id order.

    A transaction-level advisory lock on PostgreSQL; SQLite has one writer at a time anyway (and
    the process lock in :func:`resolve_chunk`).
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('rapport-events-lane'))")


def _seal_for_customers(messages: list[Message]) -> None:
    """Staged bodies about a known customer get their personal values moved to the customer's own
    key before they are copied into events (see :func:`rapport.events.personal.for_customers`)."""
    customer_of = {m.staged_id: m.customer_id for m in messages if m.customer_id is not None}
    if not customer_of:
        return
    staged = StagedMessage.objects.filter(pk__in=list(customer_of), body__contains=f'"{pii.SEALED}"')
    rows = [(pk, body) for pk, body in staged.values_list("pk", "body") if holds_sealed(body)]
    if not rows:
        return
    bodies = for_customers([(body, customer_of[pk], None) for pk, body in rows])
    moved = [StagedMessage(pk=pk, body=body.decode()) for (pk, _old), body in zip(rows, bodies, strict=True)]
    StagedMessage.objects.bulk_update(moved, ["body"])


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
    _seal_for_customers(fresh)
    _store(source, fresh)
    anonymise_stored(source, [m for m in fresh if m.user_id and m.user_id in resolver.erased])
    _apply_commerce(source, fresh)
    announce(source, fresh)
    return len(fresh)


def announce(source: Source, stored: list[Message]) -> None:
    """Tell the other domains about newly stored events (points, journeys, automatic tags)."""
    if stored:
        customers_changed((m.customer_id for m in stored), kind=Change.EVENTS)
        events_recorded.send(sender=Source, source=source, messages=stored)


@dataclass(frozen=True)
class ChunkResult:
    claimed: int
    stored: int


# What the resolver decides by; the bodies stay in the database (see _store_statement).
_CLAIMED_FIELDS = (
    "pk",
    "source_id",
    "type",
    "name",
    "message_id",
    "user_id",
    "anonymous_id",
    "previous_id",
    "at",
    "received",
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
        rows = list(
            StagedMessage.objects.select_for_update(skip_locked=True)
            .annotate(at=EpochMicroseconds("timestamp"), received=EpochMicroseconds("received_at"))
            .order_by("pk")
            .values_list(*_CLAIMED_FIELDS)[:limit]
        )
        if not rows:
            return ChunkResult(claimed=0, stored=0)
        if any(row[2] in (EventType.IDENTIFY, EventType.ALIAS) for row in rows):
            lock_identity_graph(exclusive=True)
        stored = 0
        try:
            for source, messages in _by_source(rows):
                stored += resolve_messages(source, messages)
        except OperationalError:
            raise
        except Exception as exc:
            raise ChunkFailed(first_id=rows[0][0]) from exc
        _delete_staged([row[0] for row in rows])
        return ChunkResult(claimed=len(rows), stored=stored)


def _delete_staged(ids: list[int]) -> None:
    table = StagedMessage._meta.db_table
    listed = (
        "SELECT json_array_elements_text(%s::json)::bigint"
        if connection.vendor == "postgresql"
        else "SELECT value FROM json_each(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({listed})", [orjson.dumps(ids).decode()])  # noqa: S608


class ChunkFailed(Exception):
    """Resolving a chunk raised (and rolled back); ``first_id`` is its oldest staged row."""

    def __init__(self, first_id: int) -> None:
        super().__init__(f"resolving the chunk from staged message #{first_id} failed")
        self.first_id = first_id


def _needs_body(kind: str, name: str) -> bool:
    """Whether resolving the message reads its objects: an identify's traits, an order event's properties."""
    return kind == EventType.IDENTIFY or ecommerce.is_order_event(kind, name)


def _by_source(rows: list[tuple[Any, ...]]) -> Iterable[tuple[Source, list[Message]]]:
    """The chunk's messages per source, each in staging order.

    Sources are resolved one after the other: identify back-fills events stored earlier without
    a customer, so a track of one source resolved before another source's identify of the same
    person still ends up on them (as when two sources' requests raced before staging existed).
    Only the messages whose resolution reads their objects get them (:func:`_needs_body`); the
    others carry empty ones, and their events take the objects from the staged row itself.
    """
    grouped: dict[int, list[Message]] = {}
    for staged_id, source_id, kind, name, message_id, user_id, anonymous_id, previous_id, at, received in rows:
        grouped.setdefault(source_id, []).append(
            Message(
                type=kind,
                message_id=message_id,
                name=name,
                user_id=user_id,
                anonymous_id=anonymous_id,
                previous_id=previous_id,
                properties={},
                traits={},
                context={},
                timestamp=from_epoch_microseconds(at),
                original_timestamp=None,
                sent_at=None,
                received_at=from_epoch_microseconds(received),
                staged_id=staged_id,
            )
        )
    _load_bodies([m for messages in grouped.values() for m in messages if _needs_body(m.type, m.name)])
    sources = Source.objects.in_bulk(list(grouped))
    for source_id, messages in grouped.items():
        source = sources.get(source_id)
        if source is None:
            logger.warning("dropping %d staged messages of deleted source #%s", len(messages), source_id)
            continue
        yield source, messages


def _load_bodies(messages: list[Message]) -> None:
    if not messages:
        return
    bodies = dict(StagedMessage.objects.filter(pk__in=[m.staged_id for m in messages]).values_list("pk", "body"))
    for message in messages:
        objects = objects_from_body(bodies[message.staged_id])
        message.properties = objects["properties"]
        message.traits = objects["traits"]
        message.context = objects["context"]


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
        ProcessingError.objects.create(
            source_id=staged.source_id,
            message_id=staged.message_id,
            event_name=staged.name or staged.type,
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
    orders = [m for m in messages if ecommerce.is_order_event(m.type, m.name)]
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
