"""Change records: one row per changed profile field, personal data masked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rapport.core import pii
from rapport.core.actor import Actor
from rapport.customers.models import OWNER_FIELD, ChangeRecord, Customer

_MASKERS = {"phone": pii.mask_phone, "email": pii.mask_email, "id_number": pii.mask_id_number}


def display_value(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field in _MASKERS:
        return _MASKERS[field](value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs, flattening custom fields to ``custom_fields.<key>``."""
    changed: dict[str, tuple[Any, Any]] = {}
    for field, new in after.items():
        if field == "custom_fields":
            old_custom = before.get("custom_fields") or {}
            for key in sorted(set(old_custom) | set(new or {})):
                if old_custom.get(key) != (new or {}).get(key):
                    changed[f"custom_fields.{key}"] = (old_custom.get(key), (new or {}).get(key))
        elif before.get(field) != new:
            changed[field] = (before.get(field), new)
    return changed


def recorded_values(base: str, old: Any, new: Any) -> dict[str, Any]:
    """The value columns of one change record: the owner's ids as they are (staff, readable), any
    other field's display values (sealed on the way to the database)."""
    if base == OWNER_FIELD:
        return {"old_value": "", "new_value": "", "owner_before_id": old, "owner_after_id": new}
    return {"old_value": display_value(base, old), "new_value": display_value(base, new)}


def change_records(customer: Customer, changes: dict[str, tuple[Any, Any]], actor: Actor) -> Iterable[ChangeRecord]:
    user = actor.staff_user
    for field, (old, new) in changes.items():
        base = field.removesuffix("_id")
        yield ChangeRecord(
            customer=customer,
            field=base,
            actor=user,
            actor_label=actor.describe()[:150],
            source=actor.source,
            **recorded_values(base, old, new),
        )


def record_changes(customer: Customer, changes: dict[str, tuple[Any, Any]], actor: Actor) -> None:
    ChangeRecord.objects.bulk_create(change_records(customer, changes, actor))
