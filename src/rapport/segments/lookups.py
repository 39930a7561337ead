"""Finding the records a condition names (tags, coupon templates, plans…) by name, for the
builder's searchable pickers, and naming the values a saved rule holds.

Each entity kind is registered by the app that owns the records (:func:`rules.register_entity`);
a console user sees a kind only with the permission the kind asks for.
"""

from __future__ import annotations

from typing import Any

from rapport.core.errors import FieldError, InvalidInput, NotFound, PermissionDeniedError
from rapport.segments import rules

MAX_RESULTS = 20
MAX_TEXT = 100
MAX_VALUES = 200
BUILDER_PERMISSIONS = ("segments.view_segment", "tags.view_tag")
"""Who may look anything up: those who see a builder (segments, or tags' automatic rules)."""


def lookup(kind: str, *, text: str, values: list[str], user: Any) -> dict[str, Any]:
    """Up to :data:`MAX_RESULTS` records of ``kind`` whose name holds ``text``, and the names of
    ``values`` (the ids or codes a saved rule holds)."""
    entity = rules.entities().get(kind)
    if entity is None:
        raise NotFound.single("kind", "not_found", f"one of: {', '.join(sorted(rules.entities()))}")
    if not any(user.has_perm(p) for p in BUILDER_PERMISSIONS) or (
        entity.permission and not user.has_perm(entity.permission)
    ):
        raise PermissionDeniedError.single("permission", "forbidden", f"your role may not list {entity.name}")
    errors = []
    if len(text) > MAX_TEXT or "\x00" in text:
        errors.append(FieldError("q", "invalid", f"a text of at most {MAX_TEXT} characters"))
    if len(values) > MAX_VALUES or any(len(v) > MAX_TEXT or "\x00" in v for v in values):
        errors.append(FieldError("values", "invalid", f"at most {MAX_VALUES} ids or codes, separated by commas"))
    if errors:
        raise InvalidInput(errors)
    typed: list[Any] = [int(v) if v.isdigit() else v for v in values]
    return {
        "kind": entity.name,
        "label": str(entity.label),
        "results": entity.search(text.strip(), MAX_RESULTS),
        "labels": entity.labels(typed) if typed else {},
    }
