"""Reading Segment-spec messages: validation, size limits and clock-skew correction.

Nothing here touches the database: :mod:`rapport.events.ingest` stores or stages what this
accepts (:mod:`rapport.events.inline`, :mod:`rapport.events.resolver`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import FieldError
from rapport.core.inputs import nul_path
from rapport.events import personal
from rapport.events.models import EventType

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_ID_LENGTH = 200
# Times a device may claim: anything earlier or later is a broken clock, not an event. Only the
# message carrying such a time is refused; the rest of its batch is stored (a client drops a
# batch answered 400 for good, and one device's clock must not cost the shop its neighbours).
EARLIEST_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_CLOCK_AHEAD = dt.timedelta(days=1)
OUT_OF_RANGE = "out_of_range"
OUT_OF_RANGE_MESSAGE = "a time between 1970-01-01 and 1 day after it is received (once clock skew is corrected)"
_TYPES = frozenset(EventType.values)


class TooLarge(Exception):
    """A body or message over Segment's limits: answered 413."""


class BadMessage(Exception):
    """Malformed input: answered 400 with every reason found."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass
class Message:
    type: str
    message_id: str
    name: str
    user_id: str
    anonymous_id: str
    previous_id: str
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    timestamp: dt.datetime
    original_timestamp: dt.datetime | None
    sent_at: dt.datetime | None
    received_at: dt.datetime
    raw_size: int = 0
    customer_id: int | None = field(default=None)
    # the message as JSON, as received unless its objects were completed: what gets stored
    body: bytes = b""
    # the staging row it was read from (resolver only)
    staged_id: int = 0


def _text_id(value: Any, prefix: str, key: str, errors: list[FieldError]) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(FieldError(prefix + key, "invalid", "expected a string"))
        return ""
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        errors.append(FieldError(prefix + key, "too_long", f"at most {MAX_ID_LENGTH} characters"))
    return text


def _object(value: Any, prefix: str, key: str, errors: list[FieldError]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(FieldError(prefix + key, "invalid", "expected an object"))
        return {}
    return value


def _moment(value: Any, prefix: str, key: str, errors: list[FieldError]) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(FieldError(prefix + key, "invalid", "expected an ISO 8601 date-time string"))
        return None
    try:
        # the common case first (every message has one): plain ISO 8601 with an offset
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment.astimezone(dt.UTC)
    except ValueError:
        pass
    except OverflowError:  # 9999-12-31T23:59:59-10:00 is past the last moment Python can hold
        errors.append(FieldError(prefix + key, OUT_OF_RANGE, OUT_OF_RANGE_MESSAGE))
        return None
    try:
        return parse_aware_datetime(value)
    except OverflowError:
        errors.append(FieldError(prefix + key, OUT_OF_RANGE, OUT_OF_RANGE_MESSAGE))
        return None
    except ValueError as exc:
        errors.append(FieldError(prefix + key, "invalid", str(exc)))
        return None


def _event_name(kind: Any, raw: dict[str, Any], prefix: str, errors: list[FieldError]) -> str:
    """What the call names: a track's event, a page's or screen's name, a group's id."""
    if kind == EventType.TRACK:
        event = raw.get("event")
        if not isinstance(event, str) or not event.strip():
            errors.append(FieldError(f"{prefix}event", "required", "a track call names its event"))
            return ""
        return event.strip()[:200]
    if kind in (EventType.PAGE, EventType.SCREEN):
        page = raw.get("name")
        if page is not None and not isinstance(page, str):
            errors.append(FieldError(f"{prefix}name", "invalid", "expected a string"))
        return (page or "").strip()[:200] if isinstance(page, str) else ""
    if kind == EventType.GROUP:
        return _text_id(raw.get("groupId"), prefix, "groupId", errors)
    return ""


def _corrected_moment(
    happened: dt.datetime | None, sent_at: dt.datetime | None, received_at: dt.datetime
) -> dt.datetime | None:
    """When it happened by the server's clock, or None when that lies outside what is kept."""
    try:
        corrected = corrected_time(happened, sent_at, received_at)
    except OverflowError:  # the interval the device claims reaches past year 9999 or before year 1
        return None
    too_far_ahead = sent_at is None and happened is not None and happened > received_at + MAX_CLOCK_AHEAD
    if corrected < EARLIEST_TIME or too_far_ahead:
        return None
    return corrected


def parse_message(
    raw: Any,
    *,
    where: str,
    received_at: dt.datetime,
    implied_type: str | None = None,
    batch_sent_at: dt.datetime | None = None,
    batch_context: dict[str, Any] | None = None,
) -> tuple[Message | None, list[FieldError]]:
    """One message, or the reasons it is refused (each prefixed with ``where``)."""
    errors: list[FieldError] = []
    if not isinstance(raw, dict):
        return None, [FieldError(where or "body", "invalid", "expected a JSON object")]
    encoded = orjson.dumps(raw)
    size = len(encoded)
    if size > MAX_MESSAGE_BYTES:
        raise TooLarge(f"{where or 'body'}: a message is at most 32 KB (this one is {size} bytes)")
    prefix = f"{where}." if where else ""
    # orjson writes a NUL as \u0000; the database's JSON and text types cannot hold one
    if b"\\u0000" in encoded and (path := nul_path(raw)) is not None:
        return None, [FieldError(prefix + path, "invalid", "text may not contain the NUL character (\\u0000)")]
    kind = implied_type or raw.get("type")
    if kind not in _TYPES:
        errors.append(FieldError(f"{prefix}type", "invalid", f"one of: {', '.join(EventType.values)}"))
    user_id = _text_id(raw.get("userId"), prefix, "userId", errors)
    anonymous_id = _text_id(raw.get("anonymousId"), prefix, "anonymousId", errors)
    previous_id = _text_id(raw.get("previousId"), prefix, "previousId", errors)
    message_id = _text_id(raw.get("messageId"), prefix, "messageId", errors) or f"rapport-{uuid.uuid4()}"
    if len(message_id) > 100:
        errors.append(FieldError(f"{prefix}messageId", "too_long", "at most 100 characters"))
    name = _event_name(kind, raw, prefix, errors)
    if kind == EventType.ALIAS:
        if not previous_id or not user_id:
            errors.append(FieldError(f"{prefix}previousId", "required", "an alias links a previousId to a userId"))
    elif not user_id and not anonymous_id:
        errors.append(FieldError(f"{prefix}userId", "required", "give a userId or an anonymousId"))
    properties = _object(raw.get("properties"), prefix, "properties", errors)
    traits = _object(raw.get("traits"), prefix, "traits", errors)
    context = _object(raw.get("context"), prefix, "context", errors)
    # The message as received is what gets staged, unless its objects had to be completed here.
    completed = False
    if not traits and isinstance(context.get("traits"), dict) and context["traits"]:
        traits, completed = context["traits"], True
    if batch_context:
        context, completed = {**batch_context, **context}, True
    timestamp = _moment(raw.get("timestamp"), prefix, "timestamp", errors)
    original = _moment(raw.get("originalTimestamp"), prefix, "originalTimestamp", errors)
    sent_at = _moment(raw.get("sentAt"), prefix, "sentAt", errors) or batch_sent_at
    if errors:
        return None, errors
    happened = timestamp or original
    corrected = _corrected_moment(happened, sent_at, received_at)
    if corrected is None:
        field_name = "timestamp" if timestamp else "originalTimestamp"
        return None, [FieldError(prefix + field_name, OUT_OF_RANGE, OUT_OF_RANGE_MESSAGE)]
    assert kind is not None
    return (
        Message(
            type=kind,
            message_id=message_id,
            name=name,
            user_id=user_id,
            anonymous_id=anonymous_id,
            previous_id=previous_id,
            properties=properties,
            traits=traits,
            context=context,
            timestamp=corrected,
            original_timestamp=happened,
            sent_at=sent_at,
            received_at=received_at,
            raw_size=size,
            body=_stored_body(
                raw, encoded, {"properties": properties, "traits": traits, "context": context}, completed
            ),
        ),
        [],
    )


def _stored_body(raw: dict[str, Any], encoded: bytes, objects: dict[str, Any], completed: bool) -> bytes:
    """The message as received (its objects, when they had to be completed here), personal values sealed."""
    if completed:
        return personal.seal_body(objects, orjson.dumps(objects))
    return personal.seal_body(raw, encoded)


def corrected_time(happened: dt.datetime | None, sent_at: dt.datetime | None, received_at: dt.datetime) -> dt.datetime:
    """Segment's clock-skew rule: trust the client's intervals, not its clock.

    The device says the event happened ``sent_at - happened`` before it was sent; we received it
    at ``received_at`` by our clock, so it happened at ``received_at - (sent_at - happened)``.
    """
    if happened is None:
        return received_at
    if sent_at is None:
        return min(happened, received_at)
    corrected = received_at - (sent_at - happened)
    return min(corrected, received_at)


@dataclass
class Parsed:
    """The messages of a request to store, and those of its batch refused alone (bad clocks)."""

    messages: list[Message]
    rejected: list[FieldError]


def parse_body(body: Any, *, received_at: dt.datetime, implied_type: str | None) -> Parsed:
    """A single call (``implied_type`` from the path) or a ``/v1/batch`` body.

    A batch is all or nothing, except for messages whose only fault is a time out of range: those
    are refused alone, and the request fails only when none of its messages is left.
    """
    if not isinstance(body, dict):
        raise BadMessage([FieldError("body", "invalid", "expected a JSON object")])
    if implied_type is not None:
        message, errors = parse_message(body, where="", received_at=received_at, implied_type=implied_type)
        if errors or message is None:
            raise BadMessage(errors)
        return Parsed([message], [])
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise BadMessage([FieldError("batch", "required", "a batch body holds a list named batch")])
    errors = []
    batch_sent_at = _moment(body.get("sentAt"), "", "sentAt", errors)
    batch_context = _object(body.get("context"), "", "context", errors)
    messages: list[Message] = []
    rejected: list[FieldError] = []
    for index, raw in enumerate(batch):
        message, message_errors = parse_message(
            raw,
            where=f"batch.{index}",
            received_at=received_at,
            batch_sent_at=batch_sent_at,
            batch_context=batch_context,
        )
        if message_errors and all(e.code == OUT_OF_RANGE for e in message_errors):
            rejected.extend(message_errors)
        else:
            errors.extend(message_errors)
        if message is not None:
            messages.append(message)
    if errors or (rejected and not messages):
        raise BadMessage((errors or rejected)[:50])
    return Parsed(messages, rejected[:50])


BODY_OBJECTS = ("properties", "traits", "context")


def objects_from_body(body: str | bytes) -> dict[str, dict[str, Any]]:
    """``properties``, ``traits`` and ``context`` of a message's body: each an object, ``{}`` when not one."""
    data = orjson.loads(body)
    objects = {key: value if isinstance(value := data.get(key), dict) else {} for key in BODY_OBJECTS}
    return personal.unseal_objects(objects)


def body_object_sql(body: str, key: str, vendor: str) -> str:
    """The same rule as :func:`objects_from_body` in SQL, for the events written by the database.

    ``body`` is an SQL expression: a ``jsonb`` value on PostgreSQL, JSON text on SQLite.
    """
    if vendor == "postgresql":
        return f"CASE WHEN jsonb_typeof({body} -> '{key}') = 'object' THEN {body} -> '{key}' ELSE '{{}}'::jsonb END"
    return f"CASE WHEN json_type({body}, '$.{key}') = 'object' THEN json_extract({body}, '$.{key}') ELSE '{{}}' END"
