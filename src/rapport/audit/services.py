"""Writing audit entries. Services call these inside their own transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor


def _object_type(obj: models.Model | None, object_type: str | None) -> str:
    if object_type:
        return object_type
    if obj is None:
        return ""
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def record(
    actor: Actor,
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    object_repr: str | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.staff_user,
        actor_label=actor.describe()[:150],
        source=actor.source,
        action=action,
        object_type=_object_type(obj, object_type),
        object_id=str(object_id if object_id is not None else getattr(obj, "pk", "") or ""),
        object_repr=(object_repr if object_repr is not None else str(obj) if obj is not None else "")[:200],
        changes=changes or {},
    )


def record_reveal(actor: Actor, obj: models.Model, *, fields: list[str]) -> AuditEntry:
    """Every time plaintext personal data is shown to someone, say who saw which fields."""
    return record(actor, AuditEntry.Action.REVEAL, obj=obj, changes={"fields": fields})
