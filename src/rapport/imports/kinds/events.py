"""Behaviour history: JSON Lines of tracking messages (Segment's track/page/identify shape), one a line.

The file is read by :func:`rapport.imports.readers.open_table` as one column, ``event``, holding
each line. Each line is checked by the tracking API's own :func:`~rapport.events.messages.parse_message`
(errors name the message's field, e.g. ``timestamp``), and a chunk is stored by
:func:`rapport.events.history.store_history` under the event source the job's channel names. A
line without a ``messageId`` gets one from its content, so running the same file again stores
nothing twice; a ``messageId`` the tracking API already stored is counted as unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from django.utils import timezone

from rapport.core.errors import FieldError
from rapport.events.history import source_for_import, store_history
from rapport.events.messages import Message, TooLarge, parse_message
from rapport.imports import engine
from rapport.imports import mapping as m
from rapport.imports.readers import UnusableFile

KEY_FIELD = "event"
FIELDS = ["event"]
ALIASES: dict[str, list[str]] = {"event": []}


class EventMerger(engine.Merger):
    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        source = source_for_import(self.channel)
        if source is None:
            raise UnusableFile(f"no event source named {self.channel!r}: give the source's name as the channel")
        self.source = source

    def key_of(self, unit: list[engine.Row]) -> tuple[str, ...] | None:
        raw, _errors = _json(unit[0][1][0] if unit[0][1] else "")
        return (message_id_of(raw, unit[0][1][0]),) if isinstance(raw, dict) else None

    def merge(self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome) -> None:
        with self.clock.phase("cleaning"):
            messages = self._clean(chunk, outcome)
        with self.clock.phase("merging"):
            stored = store_history(self.source, messages)
        outcome.created += len(stored)
        outcome.unchanged += len(messages) - len(stored)
        outcome.touched.update(m.customer_id for m in stored if m.customer_id)

    def _clean(self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome) -> list[Message]:
        now = timezone.now()
        messages: list[Message] = []
        for unit in chunk:
            outcome.rows += 1
            line, text = unit[0][0], unit[0][1][0] if unit[0][1] else ""
            raw, errors = _json(text)
            message = None
            if not errors:
                raw["messageId"] = message_id_of(raw, text)
                try:
                    message, errors = parse_message(raw, where="", received_at=now)
                except TooLarge as exc:
                    errors = [FieldError("event", "too_large", str(exc))]
            if not errors and message is not None:
                first = self.keys.first_line((message.message_id,), line)
                if first is not None:
                    errors = [engine._duplicate_error("messageId", message.message_id, first)]
            if errors or message is None:
                outcome.reject(unit, [(line, e) for e in errors])
                continue
            messages.append(message)
        return messages


def _json(text: str) -> tuple[Any, list[FieldError]]:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, [FieldError("event", "invalid_json", f"not a JSON object: {exc}")]
    if not isinstance(raw, dict):
        return None, [FieldError("event", "invalid_json", "each line is one JSON object")]
    return raw, []


def message_id_of(raw: dict[str, Any], text: str) -> str:
    """The message's own id, or one derived from the line, the same on every run."""
    given = raw.get("messageId")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
        return str(given).strip()
    return "import-" + hashlib.sha256(text.encode()).hexdigest()[:40]


MERGER = EventMerger
