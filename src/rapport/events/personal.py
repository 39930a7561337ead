"""Personal values in event properties and traits, sealed before they are stored or staged.

The well-known personal keys at the top of ``properties`` and ``traits`` (email, phone, address,
ID number) are encrypted with the PII key ring, each beside a blind index (the same as the
customer's for an email or phone), so an event row, a staged message or a database dump holds no
plaintext. Everything else stays as sent and filterable. The resolver unseals them when it reads
a staged body (an identify fills the profile through the PII module, as before); segment filters
compare blind indexes, for equality only; pages show them masked.

Cost: a message is searched for the keys' names as bytes first (well under a microsecond); only
one that holds one is decoded, sealed and encoded again.

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
_MARKERS = tuple(f'"{key}"'.encode() for key in sorted(PERSONAL_KEYS))


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
        for key, value in values.items():
            if pii.is_sealed(value) and not shredding.is_sealed(value.get(pii.SEALED)):
                shredding.reseal(value, customer_id, seal_one, received.get(place, {}).get(key))
                moved = True
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
    """Whether a message's JSON names a personal key anywhere (a cheap test before any decoding)."""
    return any(marker in encoded for marker in _MARKERS)


def index_for(key: str, value: Any) -> str | None:
    """The blind index of a personal value: the customer's own index for an email or phone."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    if key in EMAIL_KEYS:
        return pii.search_index_for_email(text)
    if key in PHONE_KEYS:
        return pii.search_index_for_phone(text)
    if key in ID_KEYS:
        return pii.id_number_index("".join(text.split()).upper())
    return None


def seal_object(values: Mapping[str, Any]) -> dict[str, Any]:
    """The object with its personal values sealed (already sealed ones left as they are)."""
    return {
        key: pii.seal(value, index_for(key, value))
        if key in PERSONAL_KEYS and value not in (None, "") and not pii.is_sealed(value)
        else value
        for key, value in values.items()
    }


def _sealed_objects(objects: Mapping[str, Any]) -> dict[str, Any] | None:
    """``properties`` and ``traits`` (and the traits a client copies into ``context``) with their
    personal values sealed; None when there were none."""
    sealed = dict(objects)
    changed = False
    for name in SEALED_OBJECTS:
        values = objects.get(name)
        if isinstance(values, dict) and PERSONAL_KEYS.intersection(values):
            sealed[name], changed = seal_object(values), True
    context = objects.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        inner = _sealed_objects({"traits": context["traits"]})
        if inner is not None:
            sealed["context"], changed = {**context, "traits": inner["traits"]}, True
    return sealed if changed else None


def seal_body(raw: Mapping[str, Any], encoded: bytes) -> bytes:
    """The message's JSON as it is stored: ``encoded`` itself when it holds no personal value."""
    if not may_hold_personal(encoded):
        return encoded
    sealed = _sealed_objects(raw)
    return encoded if sealed is None else orjson.dumps(sealed)


def unseal_object(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: pii.unseal(value) for key, value in values.items()}


def unseal_objects(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A staged body's objects as the client sent them, for the resolver (identify, orders)."""
    for name in SEALED_OBJECTS:
        if any(pii.is_sealed(value) for value in objects[name].values()):
            objects[name] = unseal_object(objects[name])
    traits = objects["context"].get("traits")
    if isinstance(traits, dict) and any(pii.is_sealed(value) for value in traits.values()):
        objects["context"] = {**objects["context"], "traits": unseal_object(traits)}
    return objects


def masked(values: Mapping[str, Any]) -> dict[str, Any]:
    """For pages and the API without the reveal scope: sealed values masked by their kind."""
    return {key: _mask(key, value) if pii.is_sealed(value) else value for key, value in values.items()}


def _mask(key: str, sealed: Any) -> str:
    value = pii.unseal(sealed)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if key in EMAIL_KEYS:
        return pii.mask_email(text)
    if key in PHONE_KEYS:
        return pii.mask_text(text, keep_start=3, keep_end=4)
    return pii.mask_text(text)
