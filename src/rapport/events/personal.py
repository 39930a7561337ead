"""Personal values in event properties and traits, sealed before they are stored or staged.

The values of personal keys in ``properties`` and ``traits`` are encrypted with the PII key ring,
each beside a blind index (the same as the customer's for an email or phone), so an event row, a
staged message or a database dump holds no plaintext. A key is personal when it is a well-known
one (email, phone, address, ID number, :data:`PERSONAL_KEYS`) or a name of the shop's own that
ends with one of those words (``shipping_phone``, ``buyerEmail``, ``billing-address``:
:func:`kind_of`); at any depth, in nested objects and in lists of objects
(``properties.shipping.phone``, ``properties.recipients[0].email``); and a text value that is an
email address is sealed whatever its key is called. Everything else stays as sent and filterable.
The resolver unseals them when it reads a staged body (an identify fills the profile through the
PII module, as before); segment filters compare blind indexes, for equality only (top-level keys;
the events API also at a dotted path); pages show them masked.

Cost: a message is searched for the keys' words (and ``@``) as bytes first (about a microsecond);
only one that holds one is decoded, sealed and encoded again. What is not found: a phone number
under a name that says nothing of it (``"contact": "139…"``) — digits alone are order numbers and
prices as often as phones.

Crypto-shredding: when the event is stored for a known customer (the user id's identity, at the
request or in the resolver), its sealed values move to the customer's own key
(:func:`for_customers`), blind indexes unchanged; erasure deletes that key, so copies in backups
taken before the erasure cannot be read either. Events stored without a customer (anonymous
visitors, user ids not known yet) keep the key ring's seal until they are linked to one (an
identify's back-fill, an alias, a merge): then the rows that hold a sealed value move to the
customer's key (:func:`reseal_linked_events`). Erasure also blanks the properties, traits and
context of every event of the person (``rapport.privacy.handlers.erase_events``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from rapport.core import pii, shredding

EMAIL_KEYS = frozenset({"email"})
PHONE_KEYS = frozenset({"phone", "mobile", "phone_number", "phoneNumber"})
ID_KEYS = frozenset({"id_number", "idNumber", "id_card"})
PERSONAL_KEYS = EMAIL_KEYS | PHONE_KEYS | ID_KEYS | {"address"}
SEALED_OBJECTS = ("properties", "traits")
RESEAL_BATCH = 500
# matches, in a JSON column read as text, a value sealed with the key ring (a Fernet token), not one
# already under a customer's key (``ck2:``): the rows :func:`reseal_linked_events` has work in
KEY_RING_SEALED_LIKE = f'%"{pii.SEALED}":%"gAAAAA%'
EMAIL, PHONE, ID_NUMBER, ADDRESS = "email", "phone", "id_number", "address"
# the last word of a shop's own key name (lower case, separators dropped) → the kind of value it
# holds; longer endings first ("email address" is an email)
_ENDINGS = (
    ("emailaddress", EMAIL),
    ("email", EMAIL),
    ("phonenumber", PHONE),
    ("phone", PHONE),
    ("mobile", PHONE),
    ("idnumber", ID_NUMBER),
    ("idcard", ID_NUMBER),
    ("address", ADDRESS),
)
_MARKERS = (b"@", b"email", b"phone", b"mobile", b"idnumber", b"id_number", b"idcard", b"id_card", b"address")
_SEPARATORS = re.compile(r"[^a-z0-9]")


_SEALED_MARKER = f'"{pii.SEALED}"'.encode()


def holds_sealed(body: bytes | str) -> bool:
    """Whether a stored or staged body holds a sealed value (a byte search, no decoding)."""
    return _SEALED_MARKER in (body.encode() if isinstance(body, str) else body)


def _sealed_places(objects: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in SEALED_OBJECTS:
        if isinstance(objects.get(name), dict):
            yield name, objects[name]
    context = objects.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        yield "context.traits", context["traits"]


def _plain_values(objects: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not objects:
        return {}
    return {place: values for place, values in _sealed_places(objects)}


def _move(value: Any, plain: Any, customer_id: int, seal_one: Callable[[int, str], str]) -> bool:
    """Move the key ring's seals in ``value`` (at any depth) to the customer's key, in place;
    ``plain`` is the same place as received, when known."""
    if pii.is_sealed(value):
        if shredding.is_sealed(value.get(pii.SEALED)):
            return False
        shredding.reseal(value, customer_id, seal_one, plain)
        return True
    moved = False
    if isinstance(value, dict):
        for key, item in value.items():
            moved |= _move(item, plain.get(key) if isinstance(plain, dict) else None, customer_id, seal_one)
    elif isinstance(value, list):
        known = plain if isinstance(plain, list) and len(plain) == len(value) else [None] * len(value)
        for item, received in zip(value, known, strict=True):
            moved |= _move(item, received, customer_id, seal_one)
    return moved


def _move_to_customer(
    objects: Mapping[str, Any],
    customer_id: int,
    seal_one: Callable[[int, str], str],
    received: Mapping[str, Mapping[str, Any]],
) -> bool:
    """Move the key ring's seals in ``objects`` to the customer's key, in place; whether any moved.
    Values already under a customer's key stay (a merged-away customer's key is shredded with the
    survivor's)."""
    moved = False
    for place, values in _sealed_places(objects):
        moved |= _move(values, received.get(place), customer_id, seal_one)
    return moved


def for_customers(bodies: Sequence[tuple[bytes | str, int, Mapping[str, Any] | None]]) -> list[bytes]:
    """Each body with its sealed values moved to its customer's own key (the keys of the batch
    fetched or created together; see the module docstring). The third item, the message's objects
    as received when the caller has them, spares decrypting each value first."""
    seal_one = shredding.sealer({customer_id for _body, customer_id, _plain in bodies}, fast=True)
    moved = []
    for body, customer_id, plain in bodies:
        objects = orjson.loads(body)
        _move_to_customer(objects, customer_id, seal_one, _plain_values(plain))
        moved.append(orjson.dumps(objects))
    return moved


def reseal_linked_events(event_ids: Sequence[int], customer_id: int) -> int:
    """Stored events just linked to a customer (an identify's back-fill, an alias, a merge) with
    their personal values moved from the key ring to the customer's key, so the customer's erasure
    shreds them too, copies in backups included; how many rows were rewritten (one statement per
    batch of rows)."""
    from rapport.events.models import Event

    if not event_ids:
        return 0
    seal_one = shredding.sealer({customer_id}, fast=True)
    columns = ("properties", "traits", "context")
    moved = 0
    for start in range(0, len(event_ids), RESEAL_BATCH):
        changed = []
        batch = Event.objects.filter(pk__in=list(event_ids[start : start + RESEAL_BATCH]))
        for pk, *values in batch.values_list("pk", *columns):
            objects = dict(zip(columns, values, strict=True))
            if _move_to_customer(objects, customer_id, seal_one, {}):
                changed.append(Event(pk=pk, **objects))
        Event.objects.bulk_update(changed, list(columns))
        moved += len(changed)
    return moved


def may_hold_personal(encoded: bytes) -> bool:
    """Whether a message's JSON may hold a personal value (a key's word or an ``@`` anywhere): a
    cheap test before any decoding."""
    lowered = encoded.lower()
    return any(marker in lowered for marker in _MARKERS)


@functools.lru_cache(maxsize=4096)
def kind_of(key: str) -> str | None:
    """The kind of personal value a key holds (email, phone, id_number, address), or None."""
    if key in EMAIL_KEYS:
        return EMAIL
    if key in PHONE_KEYS:
        return PHONE
    if key in ID_KEYS:
        return ID_NUMBER
    if key == ADDRESS:
        return ADDRESS
    name = _SEPARATORS.sub("", key.lower())
    return next((kind for ending, kind in _ENDINGS if name.endswith(ending)), None)


def is_personal_key(key: str) -> bool:
    return kind_of(key) is not None


def index_for(key: str, value: Any) -> str | None:
    """The blind index of a personal value: the customer's own index for an email or phone."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    kind = kind_of(key)
    if kind == EMAIL:
        return pii.search_index_for_email(text)
    if kind == PHONE:
        return pii.search_index_for_phone(text)
    if kind == ID_NUMBER:
        return pii.id_number_index("".join(text.split()).upper())
    return None


def _seals(key: str | None, value: Any) -> bool:
    """Whether the value of this key is sealed: a well-known key's whatever it is, a shop's own
    personal-sounding key's unless it is a flag (``is_mobile: true``)."""
    if key is None or value in (None, "") or pii.is_sealed(value):
        return False
    if key in PERSONAL_KEYS:
        return True
    return kind_of(key) is not None and not isinstance(value, bool)


def _sealed(key: str | None, value: Any) -> tuple[Any, bool]:
    """``value`` (found under ``key``) with its personal parts sealed, and whether any were."""
    if _seals(key, value):
        return pii.seal(value, index_for(key or "", value)), True
    if isinstance(value, dict):
        if pii.is_sealed(value):
            return value, False
        changed = False
        out = {}
        for inner_key, item in value.items():
            out[inner_key], sealed = _sealed(inner_key, item)
            changed |= sealed
        return (out if changed else value), changed
    if isinstance(value, list):
        items = [_sealed(None, item) for item in value]
        if any(sealed for _item, sealed in items):
            return [item for item, _sealed_ in items], True
        return value, False
    if isinstance(value, str) and "@" in value and (index := pii.search_index_for_email(value)):
        return pii.seal(value, index), True
    return value, False


def seal_object(values: Mapping[str, Any]) -> dict[str, Any]:
    """The object with its personal values sealed, at any depth (already sealed ones left as they are)."""
    sealed, _changed = _sealed(None, dict(values))
    return dict(sealed)


def _sealed_objects(objects: Mapping[str, Any]) -> dict[str, Any] | None:
    """``properties`` and ``traits`` (and the traits a client copies into ``context``) with their
    personal values sealed; None when there were none."""
    sealed = dict(objects)
    changed = False
    for name in SEALED_OBJECTS:
        values = objects.get(name)
        if isinstance(values, dict):
            sealed[name], changed_here = _sealed(None, values)
            changed |= changed_here
    context = objects.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        traits, changed_here = _sealed(None, context["traits"])
        if changed_here:
            sealed["context"], changed = {**context, "traits": traits}, True
    return sealed if changed else None


def seal_body(raw: Mapping[str, Any], encoded: bytes) -> bytes:
    """The message's JSON as it is stored: ``encoded`` itself when it holds no personal value."""
    if not may_hold_personal(encoded):
        return encoded
    sealed = _sealed_objects(raw)
    return encoded if sealed is None else orjson.dumps(sealed)


def unseal_value(value: Any) -> Any:
    """The value as sent: every seal in it opened, at any depth."""
    if pii.is_sealed(value):
        return pii.unseal(value)
    if isinstance(value, dict):
        return {key: unseal_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unseal_value(item) for item in value]
    return value


def unseal_object(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: unseal_value(value) for key, value in values.items()}


def unseal_objects(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A staged body's objects as the client sent them, for the resolver (identify, orders)."""
    for name in SEALED_OBJECTS:
        objects[name] = unseal_object(objects[name])
    traits = objects["context"].get("traits")
    if isinstance(traits, dict):
        objects["context"] = {**objects["context"], "traits": unseal_object(traits)}
    return objects


def masked(values: Mapping[str, Any]) -> dict[str, Any]:
    """For pages and the API without the reveal scope: sealed values masked by their kind, at any depth."""
    return {key: _masked(key, value) for key, value in values.items()}


def _masked(key: str | None, value: Any) -> Any:
    if pii.is_sealed(value):
        return _mask(key or "", value)
    if isinstance(value, dict):
        return {inner: _masked(inner, item) for inner, item in value.items()}
    if isinstance(value, list):
        return [_masked(None, item) for item in value]
    return value


def _mask(key: str, sealed: Any) -> str:
    value = pii.unseal(sealed)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    kind = kind_of(key) if key else None
    if kind == EMAIL or (kind is None and "@" in text):
        return pii.mask_email(text)
    if kind == PHONE:
        return pii.mask_text(text, keep_start=3, keep_end=4)
    return pii.mask_text(text)
