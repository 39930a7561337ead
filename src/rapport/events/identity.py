"""The identity graph: which customer each event belongs to, and what identify/alias change.

* A ``userId`` is an identity on the source's identity channel; an ``anonymousId`` is an
  :class:`AnonymousVisitor`, stitched to a customer once an identify call names both.
* identify traits update the profile through the customer services (change records with the
  tracking source). A phone or email that already belongs to another customer, or an alias
  between two known user ids, is a strong key: the two customers merge automatically.
* Weak matches (same name and city/address, one device shared by two customers) go to the
  suggestion queue for a person to decide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, transaction

from rapport.core.actor import Actor
from rapport.core.actor import Source as ActorSource
from rapport.core.dates import from_epoch_microseconds
from rapport.core.errors import Conflict, DomainError, InvalidInput
from rapport.customers import services as customer_services
from rapport.customers.merge import merge_customers, suggest_pair, suggest_weak_matches
from rapport.customers.models import Customer, Identity, identity_index_of
from rapport.customers.validation import LookupCache
from rapport.events.messages import Message
from rapport.events.models import AnonymousVisitor, Event, EventType, ProcessingError, Source
from rapport.events.personal import KEY_RING_SEALED_LIKE, reseal_linked_events
from rapport.privacy.tombstones import erased_user_ids

_ABSENT = object()

_TRAIT_FIELDS = {
    "email": "email",
    "phone": "phone",
    "gender": "gender",
    "birthday": "birthday",
    "city": "city",
}


def profile_from_traits(traits: dict[str, Any], definitions: set[str]) -> dict[str, Any]:
    """Segment's reserved traits as profile fields; traits named like a custom field fill it."""
    data: dict[str, Any] = {}
    name = traits.get("name") or " ".join(
        str(traits[k]).strip() for k in ("firstName", "lastName") if isinstance(traits.get(k), str) and traits[k]
    )
    if isinstance(name, str) and name.strip():
        data["name"] = name.strip()[:120]
    for trait, field in _TRAIT_FIELDS.items():
        if isinstance(traits.get(trait), str | int) and not isinstance(traits.get(trait), bool):
            data[field] = str(traits[trait])
    address = traits.get("address")
    if "city" not in data and isinstance(address, dict) and isinstance(address.get("city"), str):
        data["city"] = address["city"]
    if isinstance(data.get("gender"), str):
        data["gender"] = {"f": "female", "m": "male"}.get(data["gender"].lower(), data["gender"].lower())
    custom = {key: traits[key] for key in definitions if key in traits}
    if custom:
        data["custom_fields"] = custom
    return data


@dataclass(slots=True)
class Visitor:
    """The resolver's view of an :class:`AnonymousVisitor`: a batch sees thousands, no model instances."""

    pk: int
    customer_id: int | None
    last_seen_at: dt.datetime


class IdentityResolver:
    """Resolves one batch of messages from one source, in order, inside the ingest transaction."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.channel = source.identity_channel
        self.actor = Actor(source=ActorSource.TRACKING, label=f"tracking · {source.name}")
        self.cache = LookupCache()
        self.users: dict[str, int | None] = {}
        self.visitors: dict[str, Visitor] = {}
        self.erased: set[str] = set()  # user ids of erased customers: their messages change no profile
        self.channel_sources = list(Source.objects.filter(identity_channel=self.channel).values_list("pk", flat=True))

    # Lookups ------------------------------------------------------------------------------

    def prefetch(self, messages: list[Message]) -> None:
        """Load the batch's user ids, and upsert all its anonymous visitors in one statement."""
        user_ids = {m.user_id for m in messages if m.user_id} | {m.previous_id for m in messages if m.previous_id}
        self.users.update(dict.fromkeys(user_ids))
        self.users.update(known_identities(self.channel, user_ids))
        self.erased = erased_user_ids(self.channel, {user_id for user_id, known in self.users.items() if not known})
        seen: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        for m in messages:
            if m.anonymous_id:
                first, last = seen.get(m.anonymous_id, (m.timestamp, m.timestamp))
                seen[m.anonymous_id] = (min(first, m.timestamp), max(last, m.timestamp))
        self.visitors.update(upsert_visitors(seen))
        previous = {m.previous_id for m in messages if m.previous_id} - set(self.visitors)
        for visitor in AnonymousVisitor.objects.filter(anonymous_id__in=previous):
            self.visitors[visitor.anonymous_id] = Visitor(visitor.pk, visitor.customer_id, visitor.last_seen_at)

    def customer_for(self, message: Message) -> int | None:
        if message.user_id and self.users.get(message.user_id):
            return self.users[message.user_id]
        visitor = self.visitors.get(message.anonymous_id) if message.anonymous_id else None
        return visitor.customer_id if visitor is not None else None

    # Effects ------------------------------------------------------------------------------

    def apply(self, messages: list[Message]) -> None:
        """Apply identify and alias in order, then give every message its customer."""
        self.prefetch(messages)
        for message in messages:
            if message.type not in (EventType.IDENTIFY, EventType.ALIAS):
                continue
            if message.user_id in self.erased or message.previous_id in self.erased:
                continue
            try:
                with transaction.atomic():
                    if message.type == EventType.IDENTIFY:
                        self._identify(message)
                    elif message.type == EventType.ALIAS:
                        self._alias(message)
            except DomainError as exc:
                self._error(message, exc)
        for message in messages:
            message.customer_id = self.customer_for(message)

    def _error(self, message: Message, exc: DomainError) -> None:
        ProcessingError.objects.bulk_create(
            ProcessingError(
                source=self.source,
                message_id=message.message_id,
                event_name=message.name or message.type,
                field=error.field,
                message=error.message,
            )
            for error in exc.errors
        )

    def _touch_visitor(self, anonymous_id: str, seen_at: dt.datetime) -> Visitor:
        visitor = self.visitors.get(anonymous_id)
        if visitor is None:
            stored, _created = AnonymousVisitor.objects.get_or_create(
                anonymous_id=anonymous_id, defaults={"first_seen_at": seen_at, "last_seen_at": seen_at}
            )
            visitor = self.visitors[anonymous_id] = Visitor(stored.pk, stored.customer_id, stored.last_seen_at)
        elif seen_at > visitor.last_seen_at:
            visitor.last_seen_at = seen_at
            AnonymousVisitor.objects.filter(pk=visitor.pk).update(last_seen_at=seen_at)
        return visitor

    def _profile(self, message: Message) -> dict[str, Any]:
        return profile_from_traits(message.traits, set(self.cache.definitions()))

    def _identify(self, message: Message) -> None:
        data = self._profile(message)
        customer_id = self.users.get(message.user_id) if message.user_id else None
        if customer_id is None and message.anonymous_id:
            customer_id = self.visitors[message.anonymous_id].customer_id
            if customer_id is not None and message.user_id:
                customer = Customer.objects.get(pk=customer_id)
                customer_services.add_identity(
                    customer, channel=self.channel, external_id=message.user_id, actor=self.actor
                )
        if customer_id is None:
            customer = self._create(message, data)
        else:
            customer = self._update(_for_comparison(customer_id, data), data, message)
        if message.user_id:
            self.users[message.user_id] = customer.pk
            self._back_fill_user(message.user_id, customer.pk)
        if message.anonymous_id:
            self._stitch(message.anonymous_id, customer)
        if "name" in data or "city" in data:
            suggest_weak_matches(customer)

    def _back_fill_user(self, user_id: str, customer_id: int) -> None:
        """Events of the user id stored before it was known (by a request, or earlier) join its customer."""
        if self.channel_sources:
            sources = ", ".join(["%s"] * len(self.channel_sources))
            _back_fill(f"user_id = %s AND source_id IN ({sources})", [user_id, *self.channel_sources], customer_id)

    def _create(self, message: Message, data: dict[str, Any]) -> Customer:
        data.setdefault("name", message.user_id or data.get("email") or message.anonymous_id)
        data.setdefault("registered_at", message.timestamp)
        data.setdefault("registration_channel", "web" if self.channel not in {"app", "mini_program"} else self.channel)
        data = self._valid_part(message, data)
        if message.user_id:
            customer, _created = customer_services.upsert_customer(
                channel=self.channel, external_id=message.user_id, data=data, actor=self.actor, cache=self.cache
            )
            return customer
        for index_field, value in (("email", data.get("email")), ("phone", data.get("phone"))):
            existing = _find_by_personal_key(index_field, value)
            if existing is not None:
                return self._update(existing, data, message)
        return customer_services.create_customer(data=data, actor=self.actor, cache=self.cache)

    def _valid_part(self, message: Message, data: dict[str, Any]) -> dict[str, Any]:
        """Drop the traits that fail validation (each one recorded) and keep the rest."""
        from rapport.customers.validation import clean_profile

        try:
            clean_profile(data, cache=self.cache)
            return data
        except InvalidInput as exc:
            self._error(message, exc)
            bad = {e.field.split(".")[0] for e in exc.errors}
            kept = {k: v for k, v in data.items() if k not in bad}
            kept.setdefault("name", message.user_id or message.anonymous_id)
            return kept

    def _update(self, customer: Customer, data: dict[str, Any], message: Message) -> Customer:
        data.pop("registered_at", None)
        data.pop("registration_channel", None)
        if all(getattr(customer, field, _ABSENT) == value for field, value in data.items()):
            return customer  # the traits repeat the profile (no trait, or the same values): nothing to lock
        try:
            with transaction.atomic():
                return customer_services.update_customer(customer, data=data, actor=self.actor, cache=self.cache)
        except Conflict as exc:
            # The phone or email belongs to another customer: a strong key, so they are one person.
            for error in exc.errors:
                other = _find_by_personal_key(error.field, data.get(error.field))
                if other is not None and other.pk != customer.pk:
                    customer = self._merge(customer, other, reason=f"same {error.field} (tracking identify)")
            return customer_services.update_customer(customer, data=data, actor=self.actor, cache=self.cache)
        except InvalidInput as exc:
            self._error(message, exc)
            bad = {e.field.split(".")[0] for e in exc.errors}
            kept = {k: v for k, v in data.items() if k not in bad}
            if not kept:
                return customer
            return customer_services.update_customer(customer, data=kept, actor=self.actor, cache=self.cache)

    def _merge(self, first: Customer, second: Customer, *, reason: str) -> Customer:
        """Merge into the older customer; point every cached id at the survivor."""
        survivor, merged = (first, second) if first.pk < second.pk else (second, first)
        merge_customers(survivor, merged, actor=self.actor, reason=reason)
        for key, value in self.users.items():
            if value == merged.pk:
                self.users[key] = survivor.pk
        for visitor in self.visitors.values():
            if visitor.customer_id == merged.pk:
                visitor.customer_id = survivor.pk
        AnonymousVisitor.objects.filter(customer_id=merged.pk).update(customer_id=survivor.pk)
        return Customer.objects.get(pk=survivor.pk)

    def _stitch(self, anonymous_id: str, customer: Customer) -> None:
        visitor = self.visitors[anonymous_id]
        if visitor.customer_id is None:
            visitor.customer_id = customer.pk
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {_VISITOR_TABLE} SET customer_id = %s WHERE id = %s", [customer.pk, visitor.pk])  # noqa: S608
            _back_fill("anonymous_id = %s", [anonymous_id], customer.pk)
        elif visitor.customer_id != customer.pk:
            other = Customer.objects.filter(pk=visitor.customer_id).first()
            if other is not None:
                suggest_pair(customer, other, reason="shared device", score=Decimal("0.700"))

    def _alias(self, message: Message) -> None:
        """``previousId`` (an anonymous id or an old user id) is the same person as ``userId``."""
        current = self.users.get(message.user_id)
        previous = self.users.get(message.previous_id)
        if previous is not None and current is not None and previous != current:
            first, second = Customer.objects.get(pk=current), Customer.objects.get(pk=previous)
            self._merge(first, second, reason="alias of two known user ids")
        elif previous is not None and current is None:
            customer = Customer.objects.get(pk=previous)
            customer_services.add_identity(
                customer, channel=self.channel, external_id=message.user_id, actor=self.actor
            )
            self.users[message.user_id] = previous
            self._back_fill_user(message.user_id, previous)
        elif previous is None and current is not None:
            self._touch_visitor(message.previous_id, message.timestamp)
            self._stitch(message.previous_id, Customer.objects.get(pk=current))


_VISITOR_TABLE = AnonymousVisitor._meta.db_table
_CUSTOMER_COLUMNS = frozenset(field.attname for field in Customer._meta.concrete_fields)


def _for_comparison(customer_id: int, data: dict[str, Any]) -> Customer:
    """The customer with just what an identify compares and matches on (a fraction of the columns,
    each decrypted or converted on load); anything else read later is loaded on demand."""
    fields = {"name", "name_key", "city", *(key for key in data if key in _CUSTOMER_COLUMNS)}
    return Customer.objects.only(*fields).get(pk=customer_id)


def _back_fill(where: str, params: list[Any], customer_id: int) -> None:
    """Events stored without a customer that match ``where`` join it."""
    link_events(f"customer_id IS NULL AND {where}", params, customer_id)


_EVENT_TABLE = Event._meta.db_table
_HOLDS_SEALED = " OR ".join(f"CAST({column} AS TEXT) LIKE %s" for column in ("properties", "traits", "context"))


def link_events(where: str, params: list[Any], customer_id: int) -> int:
    """Events matching ``where`` join the customer; those holding a personal value sealed with the
    key ring have it moved to the customer's key (:func:`rapport.events.personal.reseal_linked_events`), so their
    erasure shreds it. One statement links them all and names those; how many joined.

    Plain SQL: once or twice for every identify, and the ORM's building of the update cost more
    than the update itself (py-spy, docs/benchmarks.md).
    """
    holding = KEY_RING_SEALED_LIKE
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_EVENT_TABLE} SET customer_id = %s WHERE {where} RETURNING id, ({_HOLDS_SEALED})",  # noqa: S608
            [customer_id, *params, holding, holding, holding],
        )
        linked = cursor.fetchall()
    reseal_linked_events([pk for pk, sealed in linked if sealed], customer_id)
    return len(linked)


def known_identities(channel: str, user_ids: set[str]) -> list[tuple[str, int]]:
    """``(user id, customer id)`` of the ids the channel knows, found by their blind index (the ids
    are stored sealed); one JSON parameter on PostgreSQL."""
    by_index = {identity_index_of(channel, user_id): user_id for user_id in user_ids}
    if connection.vendor != "postgresql":
        rows = Identity.objects.filter(external_index__in=list(by_index)).values_list("external_index", "customer_id")
        return [(by_index[index], customer_id) for index, customer_id in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_index, customer_id FROM {Identity._meta.db_table} "  # noqa: S608
            "WHERE external_index IN (SELECT json_array_elements_text(%s::json))",
            [orjson.dumps(list(by_index)).decode()],
        )
        return [(by_index[index], customer_id) for index, customer_id in cursor.fetchall()]


_VISITOR_UPSERT_POSTGRESQL = (
    f"INSERT INTO {AnonymousVisitor._meta.db_table} AS visitor (anonymous_id, first_seen_at, last_seen_at) "  # noqa: S608
    "SELECT row->>0, (row->>1)::timestamptz, (row->>2)::timestamptz FROM json_array_elements(%s::json) AS row "
    "ORDER BY 1 "
    "ON CONFLICT (anonymous_id) DO UPDATE SET last_seen_at = GREATEST(visitor.last_seen_at, excluded.last_seen_at) "
    "RETURNING id, anonymous_id, customer_id, (EXTRACT(EPOCH FROM last_seen_at) * 1000000)::bigint"
)


def upsert_visitors(seen: dict[str, tuple[dt.datetime, dt.datetime]]) -> dict[str, Visitor]:
    """Create or touch every anonymous id of a batch: one statement (a JSON parameter) on PostgreSQL.

    Rows are written in anonymous-id order, so writers sharing devices lock them in the same
    order and never deadlock.
    """
    ordered = sorted(seen)
    visitors: dict[str, Visitor] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_VISITOR_UPSERT_POSTGRESQL, [orjson.dumps([(a, *seen[a]) for a in ordered]).decode()])
            for pk, anonymous_id, customer_id, last_seen in cursor.fetchall():
                visitors[anonymous_id] = Visitor(pk, customer_id, from_epoch_microseconds(last_seen))
            return visitors
        else:
            table = AnonymousVisitor._meta.db_table
            for start in range(0, len(ordered), 300):
                chunk = ordered[start : start + 300]
                params: list[Any] = []
                for anonymous_id in chunk:
                    params.extend([anonymous_id, *seen[anonymous_id]])
                cursor.execute(
                    f"INSERT INTO {table} (anonymous_id, first_seen_at, last_seen_at) "  # noqa: S608
                    f"VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))} "
                    f"ON CONFLICT (anonymous_id) DO UPDATE SET last_seen_at = "
                    f"MAX({table}.last_seen_at, excluded.last_seen_at) "
                    "RETURNING id, anonymous_id, customer_id, last_seen_at",
                    params,
                )
                for pk, anonymous_id, customer_id, last_seen in cursor.fetchall():
                    visitors[anonymous_id] = Visitor(pk, customer_id, _aware(last_seen))
    return visitors


def _aware(value: Any) -> dt.datetime:
    """A timestamp from a raw cursor (SQLite hands back text) as an aware datetime."""
    from rapport.core.dates import parse_aware_datetime

    return parse_aware_datetime(value)


def _find_by_personal_key(field: str, value: Any) -> Customer | None:
    from rapport.core import pii

    if not value:
        return None
    index = pii.search_index_for_email(str(value)) if field == "email" else pii.search_index_for_phone(str(value))
    if not index:
        return None
    return Customer.objects.filter(**{f"{field}_index": index}).first()
