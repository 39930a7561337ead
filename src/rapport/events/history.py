"""Behaviour history from files (the import's ``events`` kind): past messages stored set-based.

A batch of validated messages of one source goes through the tracking path's own steps, without
its consequences: the message ids are claimed in the receipts (so a message the tracking API
already stored, or an earlier run of the same file, is dropped), identify and alias calls are
applied in order by the same :class:`~rapport.events.identity.IdentityResolver`, the messages are
appended to the staging table (``COPY`` on PostgreSQL, one multi-row insert on SQLite) and copied
into events with their customers in one ``INSERT … SELECT``, then their staging rows are deleted,
all in the caller's transaction. Nothing is announced: no ``events_recorded`` signal, so no points
for behaviour, no journey and no automatic tag reacts to history; the import recomputes what
derives from it once, as a baseline. Order events are stored as events; orders come from the
orders import.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from rapport.customers.merge import lock_identity_graph
from rapport.events import ingest, resolver
from rapport.events.identity import IdentityResolver
from rapport.events.messages import Message
from rapport.events.models import EventType, Source, StagedMessage
from rapport.privacy.tombstones import anonymise_stored


def source_for_import(name: str) -> Source | None:
    """The event source a file's events are stored under: by name, else by identity channel."""
    source = Source.objects.filter(name=name).first()
    return source or Source.objects.filter(identity_channel=name).order_by("pk").first()


def store_history(source: Source, messages: list[Message]) -> list[Message]:
    """Store these past messages (each message id once, ever); return the new ones, each with its customer."""
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    new_ids = resolver.claim_message_ids(source, list(unique.values()))
    fresh = [message for message_id, message in unique.items() if message_id in new_ids]
    if not fresh:
        return []
    lock_identity_graph(exclusive=any(m.type in (EventType.IDENTIFY, EventType.ALIAS) for m in fresh))
    received_at = timezone.now()
    for message in fresh:
        message.received_at = received_at
    after = StagedMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ingest._append(source, fresh)
    staged = dict(
        StagedMessage.objects.filter(pk__gt=after, source=source, received_at=received_at).values_list(
            "message_id", "pk"
        )
    )
    for message in fresh:
        message.staged_id = staged[message.message_id]
    identities = IdentityResolver(source)
    identities.apply(fresh)
    resolver._store(source, fresh)
    anonymise_stored(source, [m for m in fresh if m.user_id and m.user_id in identities.erased])
    StagedMessage.objects.filter(pk__in=[m.staged_id for m in fresh])._raw_delete(connection.alias)
    return fresh
