"""The tasks a journey's "create task" step gives staff: published for campaigns, which owns journeys
but not tasks (one mechanism: what used to be the plans' outbound call list is tasks of type call).

A step says the task's type, title, script (notes), priority, when it is due (N days after the
customer reaches the step) and who does it: the customer's owner (else the customer's store, else
the step's store), or a store. A marketing step makes no task of a contacting type (call, WeCom) for a
customer who has not consented to marketing on that channel, as a send step would send no message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.clienteling.models import Priority, Task, TaskKind, TaskSource
from rapport.clienteling.services import CONTACT_CHANNELS, NOTES_LENGTH, TITLE_LENGTH
from rapport.core.errors import FieldError
from rapport.customers import consent
from rapport.customers.models import Customer, Store

MAX_DUE_DAYS = 365
OWNER, STORE = "owner", "store"
ASSIGN_TO = {OWNER: gettext_lazy("The customer's owner (else their store)"), STORE: gettext_lazy("A store")}
PURPOSES = {"marketing": gettext_lazy("Marketing"), "service": gettext_lazy("Service")}


def _options(choices: Any) -> list[dict[str, Any]]:
    return [{"value": value, "label": str(label)} for value, label in choices]


def catalogue() -> list[dict[str, Any]]:
    """The step's fields as the plan builder draws them (name, label, choices or input type)."""
    stores = [{"value": s.pk, "label": s.name} for s in Store.objects.order_by("name")]
    return [
        {"name": "task_kind", "label": _("Task type"), "choices": _options(TaskKind.choices)},
        {"name": "title", "label": _("Title")},
        {"name": "notes", "label": _("Note or script")},
        {"name": "due_in_days", "label": _("Due in days"), "type": "number"},
        {"name": "priority", "label": _("Priority"), "choices": _options(Priority.choices)},
        {"name": "assign", "label": _("Assign to"), "choices": _options(ASSIGN_TO.items())},
        {"name": "store", "label": _("Store"), "choices": stores},
        {"name": "purpose", "label": _("Purpose"), "choices": _options(PURPOSES.items())},
    ]


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def clean_config(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """The step's settings, checked; each problem is added to ``errors`` under ``path``."""
    kind = str(config.get("task_kind") or TaskKind.CALL)
    if kind not in TaskKind.values:
        errors.append(FieldError(f"{path}.task_kind", "invalid", f"one of: {', '.join(TaskKind.values)}"))
    title = str(config.get("title") or "").strip()
    if not title or len(title) > TITLE_LENGTH:
        errors.append(FieldError(f"{path}.title", "required", f"a title of 1 to {TITLE_LENGTH} characters"))
    notes = str(config.get("notes") or "").strip()
    if len(notes) > NOTES_LENGTH:
        errors.append(FieldError(f"{path}.notes", "too_long", f"at most {NOTES_LENGTH} characters"))
    days = _whole(config.get("due_in_days", 0) if config.get("due_in_days") != "" else 0, 0, MAX_DUE_DAYS)
    if days is None:
        errors.append(FieldError(f"{path}.due_in_days", "invalid", f"whole days from 0 to {MAX_DUE_DAYS}"))
    priority = _whole(config.get("priority") or Priority.NORMAL, Priority.LOW, Priority.HIGH)
    if priority is None:
        errors.append(FieldError(f"{path}.priority", "invalid", "1 (low), 2 (normal) or 3 (high)"))
    assign = str(config.get("assign") or OWNER)
    if assign not in ASSIGN_TO:
        errors.append(FieldError(f"{path}.assign", "invalid", f"one of: {', '.join(ASSIGN_TO)}"))
    store = None
    raw_store = str(config.get("store") or "").strip()
    if raw_store:
        store = Store.objects.filter(Q(code=raw_store) | Q(pk=int(raw_store) if raw_store.isdigit() else 0)).first()
        if store is None:
            errors.append(FieldError(f"{path}.store", "not_found", "a store's id or code"))
    purpose = str(config.get("purpose") or "marketing")
    if purpose not in PURPOSES:
        errors.append(FieldError(f"{path}.purpose", "invalid", f"one of: {', '.join(PURPOSES)}"))
    return {
        "task_kind": kind,
        "title": title,
        "notes": notes,
        "due_in_days": days,
        "priority": priority,
        "assign": assign,
        "store": store.pk if store else None,
        "purpose": purpose,
    }


def _assignment(config: Mapping[str, Any], owner_id: int | None, store_id: int | None) -> tuple[int | None, int | None]:
    """(assignee, store) for one customer; (None, None) when nobody can be given the task."""
    step_store = config.get("store")
    if config.get("assign") == STORE:
        return None, step_store or store_id
    if owner_id:
        return owner_id, None
    return None, store_id or step_store


def create_for_customers(
    config: Mapping[str, Any], customer_ids: Sequence[int], *, source_ref: str, now: dt.datetime
) -> int:
    """One task per customer (set-based: one read, one insert); answers how many were made.

    Runs inside the caller's transaction (the journey engine's chunk), which makes it exactly once.
    """
    customers = Customer.objects.filter(pk__in=customer_ids)
    channel = CONTACT_CHANNELS.get(TaskKind(config["task_kind"]))
    if channel is not None and config.get("purpose", "marketing") == "marketing":
        customers = customers.filter(consent.consenting_q(channel, "marketing"))
    due = now + dt.timedelta(days=int(config.get("due_in_days") or 0))
    tasks = []
    for customer_id, owner_id, store_id in customers.values_list("pk", "owner_id", "store_id").order_by("pk"):
        assignee_id, task_store_id = _assignment(config, owner_id, store_id)
        if assignee_id is None and task_store_id is None:
            continue  # no owner, no store anywhere: nobody to give it to (the step's store fills this gap)
        tasks.append(
            Task(
                customer_id=customer_id,
                kind=config["task_kind"],
                title=config["title"],
                notes=config.get("notes", ""),
                priority=config.get("priority") or Priority.NORMAL,
                due_at=due,
                assignee_id=assignee_id,
                store_id=task_store_id,
                source=TaskSource.JOURNEY,
                source_ref=source_ref,
                created_at=now,
            )
        )
    return len(Task.objects.bulk_create(tasks))
