"""Writing audit entries. Services call these inside their own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.listing import within_time_bounds


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
    sealed: bool = True,
) -> AuditEntry:
    """``sealed``: an entry about a customer or one of their rows is sealed with the customer's key
    (readable until their erasure); False for the record that outlives it (the erasure itself)."""
    entry = AuditEntry(
        actor=actor.staff_user,
        actor_label=actor.describe()[:150],
        source=actor.source,
        action=action,
        object_type=_object_type(obj, object_type),
        object_id=str(object_id if object_id is not None else getattr(obj, "pk", "") or ""),
        object_repr=(object_repr if object_repr is not None else str(obj) if obj is not None else "")[:200],
        changes=changes or {},
    )
    entry._sealing_subject = _customer_of(obj, entry) if sealed else None  # type: ignore[attr-defined]
    entry.save(force_insert=True)
    return entry


def _customer_of(obj: models.Model | None, entry: AuditEntry) -> int | None:
    """The customer an audited object is, or belongs to (a row with a ``customer`` key)."""
    if obj is not None and obj._meta.label_lower == "customers.customer":
        return obj.pk
    customer_id = getattr(obj, "customer_id", None)
    return customer_id if isinstance(customer_id, int) else entry.sealing_subject


def record_reveal(actor: Actor, obj: models.Model, *, fields: list[str]) -> AuditEntry:
    """Every time plaintext personal data is shown to someone, say who saw which fields."""
    return record(actor, AuditEntry.Action.REVEAL, obj=obj, changes={"fields": fields})


def filter_entries(params: Mapping[str, Any]) -> QuerySet[AuditEntry]:
    """The audit log narrowed by actor, action, source, object and time; bad values are errors."""
    entries = AuditEntry.objects.select_related("actor")
    errors: list[FieldError] = []
    if params.get("actor"):
        entries = entries.filter(Q(actor__username=params["actor"]) | Q(actor_label__icontains=params["actor"]))
    if params.get("action"):
        if params["action"] not in AuditEntry.Action.values:
            errors.append(FieldError("action", "invalid", f"one of: {', '.join(AuditEntry.Action.values)}"))
        entries = entries.filter(action=params["action"])
    if params.get("source"):
        entries = entries.filter(source=params["source"])
    if params.get("object_type"):
        entries = entries.filter(object_type=params["object_type"])
    if params.get("object_id"):
        entries = entries.filter(object_id=str(params["object_id"]))
    entries = within_time_bounds(entries, params, field="created_at", after="since", before="until", errors=errors)
    if errors:
        raise InvalidInput(errors)
    return entries
