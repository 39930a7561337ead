"""Tasks: create one, complete it (making the next occurrence of a recurring one), create them in
bulk for a segment split across the customers' owners, and count completion per person and store.

Who sees which task: those who manage tasks see all; everyone else the tasks assigned to them
and to their store.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from rapport.accounts.services import staff_store_id
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.clienteling import contacts
from rapport.clienteling.models import Outcome, Priority, Recurrence, Task, TaskKind, TaskSource, TaskStatus
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.customers import consent
from rapport.customers.models import Customer, Store
from rapport.segments.models import Segment
from rapport.segments.services import segment_members

MANAGE_PERMISSION = "clienteling.manage_tasks"
BULK_BATCH = 2000
TITLE_LENGTH = 200
NOTES_LENGTH = 4000


def assigned_to(user: AbstractBaseUser | AnonymousUser | None) -> Q:
    """Tasks for this staff member, and their store's tasks that name nobody."""
    mine = Q(assignee_id=getattr(user, "pk", None) or 0)
    store_id = staff_store_id(user)
    return mine | Q(assignee__isnull=True, store_id=store_id) if store_id else mine


def visible_tasks(user: User | AnonymousUser | None) -> QuerySet[Task]:
    tasks = Task.objects.select_related("customer", "assignee", "store")
    if user is not None and user.has_perm(MANAGE_PERMISSION):
        return tasks
    store_id = staff_store_id(user)
    return tasks.filter(assigned_to(user) | Q(store_id=store_id) if store_id else assigned_to(user))


def next_due(due: dt.datetime, recurrence: str) -> dt.datetime | None:
    """When the next occurrence is due: a month on keeps the day, or the month's last day."""
    if recurrence == Recurrence.DAILY:
        return due + dt.timedelta(days=1)
    if recurrence == Recurrence.WEEKLY:
        return due + dt.timedelta(days=7)
    if recurrence == Recurrence.MONTHLY:
        year, month = (due.year + 1, 1) if due.month == 12 else (due.year, due.month + 1)
        return due.replace(year=year, month=month, day=min(due.day, calendar.monthrange(year, month)[1]))
    return None


@dataclass(frozen=True)
class TaskFields:
    """A task's own fields, checked: what a form, the API and the bulk path share."""

    kind: str
    title: str
    priority: int
    due_at: dt.datetime
    recurrence: str
    notes: str


def _choice(data: Mapping[str, Any], name: str, choices: list[Any], default: Any, errors: list[FieldError]) -> Any:
    value = data.get(name, default)
    if value in (None, ""):
        value = default
    if name == "priority" and isinstance(value, str) and value.isdigit():
        value = int(value)
    if value not in choices:
        errors.append(
            FieldError(name, "invalid", _("One of: %(choices)s.") % {"choices": ", ".join(map(str, choices))})
        )
    return value


# The consent channel a task of each kind contacts the customer on (visits and samples need none).
CONTACT_CHANNELS = {TaskKind.CALL: "call", TaskKind.WECOM: "wechat"}

EARLIEST_DUE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_DUE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _due(raw: Any, errors: list[FieldError]) -> dt.datetime:
    """The due time in UTC (a naive one is in the viewer's time zone), within this century."""
    value = raw if isinstance(raw, dt.datetime) else parse_datetime(str(raw or "").strip())
    if value is None:
        errors.append(FieldError("due_at", "invalid", _("Enter a date and time.")))
        return timezone.now()
    try:
        due = (value if timezone.is_aware(value) else timezone.make_aware(value)).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        due = EARLIEST_DUE - dt.timedelta(days=1)
    if not EARLIEST_DUE <= due < LATEST_DUE:
        errors.append(FieldError("due_at", "out_of_range", _("A date between 2000 and 2099.")))
        return timezone.now()
    return due


def clean_fields(data: Mapping[str, Any]) -> TaskFields:
    errors: list[FieldError] = []
    title = str(data.get("title") or "").strip()
    if not title or len(title) > TITLE_LENGTH:
        errors.append(FieldError("title", "required", _("A title of 1 to 200 characters.")))
    notes = str(data.get("notes") or "")
    if len(notes) > NOTES_LENGTH:
        errors.append(FieldError("notes", "too_long", _("At most 4000 characters.")))
    fields = TaskFields(
        kind=_choice(data, "kind", TaskKind.values, TaskKind.CALL, errors),
        title=title,
        priority=_choice(data, "priority", Priority.values, Priority.NORMAL, errors),
        due_at=_due(data.get("due_at"), errors),
        recurrence=_choice(data, "recurrence", Recurrence.values, Recurrence.NONE, errors),
        notes=notes,
    )
    if errors:
        raise InvalidInput(errors)
    return fields


def _assignee(data: Mapping[str, Any], customer: Customer) -> tuple[User | None, Store | None]:
    """The staff member or store named, else the customer's owner, else the customer's store."""
    errors: list[FieldError] = []
    user = store = None
    if data.get("assignee") not in (None, ""):
        raw = str(data["assignee"])
        user = User.objects.filter(Q(username=raw) | Q(pk=int(raw) if raw.isdigit() else 0), is_active=True).first()
        if user is None:
            errors.append(FieldError("assignee", "not_found", _("No such staff member.")))
    if data.get("store") not in (None, ""):
        raw = str(data["store"])
        store = Store.objects.filter(Q(code=raw) | Q(pk=int(raw) if raw.isdigit() else 0)).first()
        if store is None:
            errors.append(FieldError("store", "not_found", _("No such store.")))
    if errors:
        raise InvalidInput(errors)
    if user is None and store is None:
        user, store = customer.owner, customer.store if customer.owner_id is None else None
    if user is None and store is None:
        raise InvalidInput.single("assignee", "required", _("Name a staff member or a store for this task."))
    return user, store


@transaction.atomic
def create_task(customer: Customer, data: Mapping[str, Any], *, actor: Actor) -> Task:
    fields = clean_fields(data)
    user, store = _assignee(data, customer)
    task = Task.objects.create(
        customer=customer,
        assignee=user,
        store=store,
        created_by=actor.staff_user,
        created_at=timezone.now(),
        source=TaskSource.MANUAL,
        **asdict(fields),
    )
    record(actor, AuditEntry.Action.CREATE, obj=task, changes={"customer_id": customer.pk, "kind": task.kind})
    return task


@transaction.atomic
def complete_task(task: Task, *, outcome: object, notes: object, actor: Actor) -> tuple[Task, Task | None]:
    """Mark a task done with its outcome (a reached customer counts as contacted); a recurring one gets
    its next occurrence (once)."""
    if outcome not in Outcome.values or outcome == Outcome.NONE:
        choices = ", ".join(v for v in Outcome.values if v)
        raise InvalidInput.single("outcome", "invalid", _("One of: %(choices)s.") % {"choices": choices})
    text = str(notes or "")
    if len(text) > NOTES_LENGTH:
        raise InvalidInput.single("notes", "too_long", _("At most 4000 characters."))
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise Conflict.single("status", "closed", _("This task is already closed."))
    locked.status, locked.outcome, locked.completed_at = TaskStatus.DONE, str(outcome), timezone.now()
    locked.notes = "\n".join(part for part in (locked.notes, text.strip()) if part)
    locked.save(update_fields=["status", "outcome", "completed_at", "notes"])
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"status": ["open", "done"], "outcome": outcome})
    contacts.record_for_task(locked, actor=actor)
    channel = CONTACT_CHANNELS.get(TaskKind(locked.kind))
    if outcome == Outcome.OPTED_OUT and channel is not None:
        consent.withdraw_marketing(
            locked.customer, actor=actor, channels=[channel], evidence=f"task #{locked.pk}: {locked.title}"[:200]
        )
    following = None
    due = next_due(locked.due_at, locked.recurrence)
    if due is not None:
        following = Task.objects.create(
            customer_id=locked.customer_id,
            kind=locked.kind,
            title=locked.title,
            priority=locked.priority,
            due_at=due,
            assignee_id=locked.assignee_id,
            store_id=locked.store_id,
            recurrence=locked.recurrence,
            previous=locked,
            source=locked.source,
            source_ref=locked.source_ref,
            created_by=locked.created_by,
            created_at=timezone.now(),
        )
    return locked, following


@transaction.atomic
def bulk_for_segment(segment: Segment, data: Mapping[str, Any], *, actor: Actor) -> int:
    """One task per member of the segment, for each customer's owner (or their store; or the
    creator when a customer has neither). Set-based: one insert per batch, no per-row save."""
    fields = clean_fields(data)
    now = timezone.now()
    creator = actor.staff_user
    members = segment_members(segment, actor=actor).values_list("pk", "owner_id", "store_id").order_by("pk")
    batch: list[Task] = []
    created = 0
    for customer_id, owner_id, store_id in members.iterator(chunk_size=BULK_BATCH):
        assignee_id = owner_id or (None if store_id else getattr(creator, "pk", None))
        if assignee_id is None and store_id is None:
            continue  # no owner, no store and a system actor: nobody to give it to
        batch.append(
            Task(
                customer_id=customer_id,
                assignee_id=assignee_id,
                store_id=None if owner_id else store_id,
                created_by=creator,
                created_at=now,
                source=TaskSource.SEGMENT,
                source_ref=f"segment:{segment.pk}",
                **asdict(fields),
            )
        )
        if len(batch) >= BULK_BATCH:
            created += len(Task.objects.bulk_create(batch))
            batch = []
    created += len(Task.objects.bulk_create(batch))
    record(actor, AuditEntry.Action.CREATE, obj=segment, changes={"tasks_created": created, "title": fields.title})
    return created


def marketing_refused(task: Task) -> bool:
    """Whether the customer has no marketing consent (opt-in, or withdrawn) on the channel this task
    would use: the page then says so, so the contact is about service only, never a sale."""
    channel = CONTACT_CHANNELS.get(TaskKind(task.kind))
    return channel is not None and not consent.has_consent(task.customer_id, channel, "marketing")


def get_task(user: User | AnonymousUser | None, pk: int) -> Task:
    task = visible_tasks(user).filter(pk=pk).first()
    if task is None:
        raise NotFound.single("id", "not_found", _("No such task."))
    return task


def completion(tasks: QuerySet[Task], *, now: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per person and per store: tasks, done, open, overdue and the completion rate (%)."""
    now = now or timezone.now()
    counts = {
        "total": Count("pk", filter=~Q(status=TaskStatus.CANCELLED)),
        "done": Count("pk", filter=Q(status=TaskStatus.DONE)),
        "open": Count("pk", filter=Q(status=TaskStatus.OPEN)),
        "overdue": Count("pk", filter=Q(status=TaskStatus.OPEN, due_at__lt=now)),
    }

    def rows(key: str, label: str) -> list[dict[str, Any]]:
        found = tasks.exclude(**{f"{key}__isnull": True}).values(key, label).annotate(**counts).order_by(label)
        return [
            {
                "id": row[key],
                "name": row[label],
                **{name: row[name] for name in counts},
                "rate": round(100 * row["done"] / row["total"]) if row["total"] else 0,
            }
            for row in found
        ]

    return {"people": rows("assignee", "assignee__username"), "stores": rows("store", "store__name")}
