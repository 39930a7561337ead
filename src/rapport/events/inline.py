"""Plain events resolved inside the request, in one statement (PostgreSQL).

Most tracking calls are track, page and screen calls that change nothing but their own row:
their customer is whoever the identity graph says their user id or device belongs to right now.
On PostgreSQL the request resolves those itself, in the same transaction that answers 200:

```
WITH batch (the request's messages, one jsonb parameter)
   , fresh (INSERT receipts … ON CONFLICT DO NOTHING RETURNING)     -- retries dropped
   , seen  (INSERT anonymous visitors … ON CONFLICT DO UPDATE RETURNING)
INSERT INTO events_event SELECT … customer from the user id's identity, else the device's …
```

Calls that change the graph or the shop — identify, alias, and the order events — are staged for
the resolver (:mod:`rapport.events.resolver`), which applies them in order under the identity
graph lock held exclusively; requests hold it shared. So a request never reads the graph half
way through an identify or a merge, and an identify's back-fill of events stored without a
customer sees every such event already committed. An event whose user id or device is not known
yet is stored without a customer and gets one from that back-fill, as with the resolver alone.

SQLite has one writer at a time, so there everything is staged and the resolver does it all.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from django.db import connection

from rapport.customers.merge import lock_identity_graph
from rapport.customers.models import Identity, identity_index_of
from rapport.events import ecommerce
from rapport.events.identity import known_identities
from rapport.events.messages import BODY_OBJECTS, Message, body_object_sql
from rapport.events.models import AnonymousVisitor, Event, EventReceipt, EventType, Source
from rapport.events.partitions import ensure_month_partitions
from rapport.events.personal import for_customers, holds_sealed
from rapport.privacy.tombstones import anonymise_stored, erased_user_ids


def resolves_inline(message: Message) -> bool:
    """Whether a request may store this message itself (PostgreSQL): it changes no identity and no order."""
    if message.type in (EventType.IDENTIFY, EventType.ALIAS):
        return False
    return not ecommerce.is_order_event(message.type, message.name)


@functools.cache
def _statement() -> str:
    objects = ", ".join(body_object_sql("r.body", key, "postgresql") for key in BODY_OBJECTS)
    return f"""
WITH batch AS (
    SELECT item.n, item.m ->> 'message_id' AS message_id, item.m ->> 'user_id' AS user_id,
           item.m ->> 'anonymous_id' AS anonymous_id,
           item.m ->> 'identity_index' AS identity_index, (item.m ->> 'timestamp')::timestamptz AS happened,
           item.m
    FROM jsonb_array_elements(%(batch)s::jsonb) WITH ORDINALITY AS item (m, n)
), fresh AS (
    INSERT INTO {EventReceipt._meta.db_table} (source_id, message_id, received_at)
    SELECT %(source)s, message_id, %(received)s FROM batch ORDER BY n
    ON CONFLICT (source_id, message_id) DO NOTHING
    RETURNING message_id
), rows AS (
    SELECT batch.*, batch.m -> 'body' AS body FROM batch WHERE message_id IN (SELECT message_id FROM fresh)
), seen AS (
    INSERT INTO {AnonymousVisitor._meta.db_table} AS visitor (anonymous_id, first_seen_at, last_seen_at)
    SELECT anonymous_id, min(happened), max(happened) FROM rows WHERE anonymous_id <> ''
    GROUP BY anonymous_id ORDER BY anonymous_id
    ON CONFLICT (anonymous_id) DO UPDATE SET last_seen_at = GREATEST(visitor.last_seen_at, excluded.last_seen_at)
    RETURNING anonymous_id, customer_id
)
INSERT INTO {Event._meta.db_table} (timestamp, source_id, message_id, type, name, customer_id, user_id,
    anonymous_id, properties, traits, context, original_timestamp, sent_at, received_at)
SELECT r.happened, %(source)s, r.message_id, r.m ->> 'type', r.m ->> 'name',
       COALESCE(known.customer_id, seen.customer_id), r.user_id, r.anonymous_id, {objects},
       (r.m ->> 'original_timestamp')::timestamptz, (r.m ->> 'sent_at')::timestamptz, %(received)s
FROM rows r
-- one index probe a message, whatever the planner thinks of the identities' size
LEFT JOIN LATERAL (
    SELECT identity.customer_id FROM {Identity._meta.db_table} identity
    WHERE r.user_id <> '' AND identity.external_index = r.identity_index
    LIMIT 1
) known ON true
LEFT JOIN seen ON seen.anonymous_id = r.anonymous_id
ORDER BY r.n
RETURNING message_id, customer_id
"""  # noqa: S608


def _seal_for_known_users(source: Source, messages: list[Message]) -> None:
    """Personal values of messages whose user id is a known customer's move to that customer's
    key (:func:`rapport.events.personal.for_customers`); the statement below links the same
    customer, as both read the graph under the same shared lock."""
    personal = [m for m in messages if m.user_id and holds_sealed(m.body)]
    if not personal:
        return
    owners = dict(known_identities(source.identity_channel, {m.user_id for m in personal}))
    known = [m for m in personal if m.user_id in owners]
    received = [
        (m.body, owners[m.user_id], {"properties": m.properties, "traits": m.traits, "context": m.context})
        for m in known
    ]
    for message, body in zip(known, for_customers(received), strict=True):
        message.body = body


def store(source: Source, messages: list[Message]) -> list[Message]:
    """Store these messages (each message id once) inside the caller's transaction; return the new ones.

    Each returned message carries the customer its event was stored with.
    """
    lock_identity_graph(exclusive=False)
    ensure_month_partitions([m.timestamp for m in messages])
    _seal_for_known_users(source, messages)
    channel = source.identity_channel
    batch = orjson.dumps(
        [
            {
                "message_id": m.message_id,
                "type": m.type,
                "name": m.name,
                "user_id": m.user_id,
                "anonymous_id": m.anonymous_id,
                "identity_index": identity_index_of(channel, m.user_id) if m.user_id else "",
                "timestamp": m.timestamp,
                "original_timestamp": m.original_timestamp,
                "sent_at": m.sent_at,
                "body": orjson.Fragment(m.body),
            }
            for m in messages
        ]
    ).decode()
    params: dict[str, Any] = {
        "batch": batch,
        "source": source.pk,
        "received": messages[0].received_at,
    }
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        stored = dict(cursor.fetchall())
    fresh = [m for m in messages if m.message_id in stored]
    for message in fresh:
        message.customer_id = stored[message.message_id]
    # an erased customer's user id has no identity left: only events stored without a customer
    # can be theirs, so known customers' batches cost no look-up
    unlinked = [m for m in fresh if m.customer_id is None and m.user_id]
    if unlinked:
        erased = erased_user_ids(source.identity_channel, {m.user_id for m in unlinked})
        anonymise_stored(source, [m for m in unlinked if m.user_id in erased])
    return fresh
