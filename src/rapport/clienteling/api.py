"""``/api/v1/tasks``: tasks on customers for a WeCom sidebar, a POS or a phone app: list the
caller's, create one or a segment's worth, complete one, and completion per person and store.
``/api/v1/contacts``: the contact log (record one, list a customer's, last contacted and consent).
``/api/v1/reminders``: the caller's care reminders and alerts, and how they want alerts.
``/api/v1/shared-links``: a tracked link to a product or page for a customer, and a customer's links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Status

from rapport.accounts.scopes import CONTACTS_READ, CONTACTS_WRITE, TASKS_READ, TASKS_WRITE
from rapport.clienteling import alerts, contacts, queries, reminders, services, sharing
from rapport.clienteling.models import Contact, Reminder, SharedLink, Task, TaskStatus
from rapport.clienteling.responses import (
    AlertSettingsOut,
    BulkTasksOut,
    CompletionOut,
    ContactCardOut,
    ContactOut,
    ContactPage,
    ReminderOut,
    ReminderPage,
    SharedLinkOut,
    SharedLinkPage,
    TaskOut,
    TaskPage,
)
from rapport.core.api import ALSO_404, Strict, actor_for, require
from rapport.core.errors import NotFound
from rapport.core.listing import page_body, paginate
from rapport.customers.queries import visible_customer
from rapport.segments.models import Segment

router = Router(tags=["tasks"])
_Row = TypeVar("_Row", bound=Model)

Kind = Literal["call", "wecom", "visit", "sample", "ticket"]
Repeat = Literal["", "daily", "weekly", "monthly"]


class TaskIn(Strict):
    customer_id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=200)
    kind: Kind = "call"
    priority: int = Field(2, ge=1, le=3)
    due_at: dt.datetime
    recurrence: Repeat = ""
    notes: str = Field("", max_length=4000)
    assignee: str = Field("", max_length=150, description="user name or id; empty: the customer's owner or store")
    store: str = Field("", max_length=40, description="store code or id")


class BulkIn(Strict):
    segment_id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=200)
    kind: Kind = "call"
    priority: int = Field(2, ge=1, le=3)
    due_at: dt.datetime
    recurrence: Repeat = ""
    notes: str = Field("", max_length=4000)


class ContactIn(Strict):
    customer_id: int = Field(gt=0)
    kind: Literal["call", "message", "visit", "appointment"]
    purpose: Literal["service", "marketing"] = "service"
    note: str = Field("", max_length=2000)
    occurred_at: dt.datetime | None = Field(None, description="when it happened (not after now); empty: now")


class SnoozeIn(Strict):
    days: int = Field(1, ge=1, le=30)


class CompleteIn(Strict):
    outcome: Literal["reached", "no_answer", "interested", "declined", "done", "opted_out"]
    notes: str = Field("", max_length=4000)


def task_body(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "customer_id": task.customer_id,
        "title": task.title,
        "kind": task.kind,
        "priority": task.priority,
        "due_at": task.due_at.isoformat(),
        "assignee": task.assignee.get_username() if task.assignee else None,
        "store": task.store.code if task.store else None,
        "status": task.status,
        "outcome": task.outcome,
        "notes": task.notes,
        "recurrence": task.recurrence,
        "source": task.source,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "next_id": getattr(getattr(task, "next_occurrence", None), "pk", None),
    }


@router.get("/tasks", response={200: TaskPage}, summary="The caller's tasks (those who manage tasks: everyone's)")
def list_tasks(
    request: HttpRequest, status: Literal["open", "done", "cancelled"] | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    require(request, TASKS_READ, "clienteling.view_task")
    tasks = services.visible_tasks(request.user)
    if status:
        tasks = tasks.filter(status=status)
    page = paginate(tasks.order_by("due_at", "pk"), limit=limit, offset=offset)
    return page_body(page, [task_body(t) for t in page.items])


@router.post("/tasks", response={201: TaskOut}, summary="Create a task on a customer")
def create_task(request: HttpRequest, payload: TaskIn) -> Status[dict[str, Any]]:
    require(request, TASKS_WRITE, "clienteling.add_task")
    customer = visible_customer(request.user, payload.customer_id)
    task = services.create_task(customer, payload.dict(exclude={"customer_id"}), actor=actor_for(request))
    return Status(201, task_body(task))


@router.post("/tasks/bulk", response={201: BulkTasksOut}, summary="One task per member of a segment, for their owners")
def bulk(request: HttpRequest, payload: BulkIn) -> Status[dict[str, Any]]:
    require(request, TASKS_WRITE, services.MANAGE_PERMISSION)
    segment = Segment.objects.filter(pk=payload.segment_id, is_template=False).first()
    if segment is None:
        raise NotFound.single("segment_id", "not_found", f"no segment #{payload.segment_id}")
    created = services.bulk_for_segment(segment, payload.dict(exclude={"segment_id"}), actor=actor_for(request))
    return Status(201, {"created": created})


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut},
    summary="Mark a task done; a recurring one gets its next occurrence",
)
def complete(request: HttpRequest, task_id: int, payload: CompleteIn) -> dict[str, Any]:
    require(request, TASKS_WRITE, "clienteling.change_task")
    task = services.get_task(request.user, task_id)
    done, _following = services.complete_task(
        task, outcome=payload.outcome, notes=payload.notes, actor=actor_for(request)
    )
    return task_body(services.get_task(request.user, done.pk))


@router.get(
    "/tasks/completion", response={200: CompletionOut}, summary="Completion rate and overdue tasks per person and store"
)
def completion(request: HttpRequest) -> dict[str, Any]:
    require(request, TASKS_READ, services.MANAGE_PERMISSION)
    return services.completion(services.visible_tasks(request.user).exclude(status=TaskStatus.CANCELLED))


def _customer_page(
    request: HttpRequest,
    customer_id: int,
    rows_of: Callable[[int], QuerySet[_Row]],
    body: Callable[[_Row], dict[str, Any]],
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of a customer's records (contacts, shared links), newest first: the customer must
    be one the caller may see (404 otherwise), whatever kind of record is listed."""
    customer = visible_customer(request.user, customer_id)
    page = paginate(rows_of(customer.pk), limit=limit, offset=offset)
    return page_body(page, [body(row) for row in page.items])


def _create_for_customer(
    request: HttpRequest,
    payload: ContactIn | SharedLinkIn,
    create: Callable[..., _Row],
    body: Callable[[_Row], dict[str, Any]],
) -> Status[dict[str, Any]]:
    """Record something for the payload's customer (one the caller may see) through the app's
    service, in the caller's name; 201 with its body."""
    customer = visible_customer(request.user, payload.customer_id)
    made = create(customer, payload.dict(exclude={"customer_id"}), actor=actor_for(request))
    return Status(201, body(made))


def contact_body(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "customer_id": contact.customer_id,
        "kind": contact.kind,
        "purpose": contact.purpose,
        "note": contact.note,
        "staff": contact.staff.get_username() if contact.staff else None,
        "store": contact.store.code if contact.store else None,
        "task_id": contact.task_id,
        "occurred_at": contact.occurred_at.isoformat(),
    }


@router.get(
    "/contacts",
    response={200: ContactPage},
    summary="A customer's recorded contacts, newest first",
    openapi_extra=ALSO_404,
)
def list_contacts(request: HttpRequest, customer_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, CONTACTS_READ, "clienteling.view_contact")
    return _customer_page(request, customer_id, queries.contacts_of, contact_body, limit=limit, offset=offset)


@router.get(
    "/contacts/card",
    openapi_extra=ALSO_404,
    response={200: ContactCardOut},
    summary="When the customer was last contacted, and the contact types not open to marketing (no consent)",
)
def contact_card(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, CONTACTS_READ, "clienteling.view_contact")
    customer = visible_customer(request.user, customer_id)
    last = queries.last_contacted([customer.pk]).get(customer.pk)
    return {
        "customer_id": customer.pk,
        "last_contacted_at": last.isoformat() if last else None,
        "marketing_refused": contacts.marketing_refused(customer.pk),
    }


@router.post("/contacts", response={201: ContactOut}, summary="Record a call, message, visit or appointment")
def record_contact(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    require(request, CONTACTS_WRITE, "clienteling.add_contact")
    return _create_for_customer(request, payload, contacts.record_contact, contact_body)


class SharedLinkIn(Strict):
    customer_id: int
    url: str = Field(description="the product or page address (http or https)")
    title: str = ""


def shared_link_body(link: SharedLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "customer_id": link.customer_id,
        "link": sharing.tracked_url(link),
        "url": link.url,
        "title": link.title,
        "staff": link.staff.get_username() if link.staff else None,
        "created_at": link.created_at.isoformat(),
        "first_opened_at": link.first_opened_at.isoformat() if link.first_opened_at else None,
        "opens": link.opens,
    }


@router.get(
    "/shared-links",
    response={200: SharedLinkPage},
    summary="The links staff shared with a customer, newest first, with their opens",
    openapi_extra=ALSO_404,
)
def list_shared_links(request: HttpRequest, customer_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, CONTACTS_READ, "clienteling.view_sharedlink")
    return _customer_page(request, customer_id, queries.shared_links_of, shared_link_body, limit=limit, offset=offset)


@router.post(
    "/shared-links",
    response={201: SharedLinkOut},
    summary="A tracked link to a product or page for a customer; its opening counts as the caller's contact",
)
def share_link(request: HttpRequest, payload: SharedLinkIn) -> Status[dict[str, Any]]:
    require(request, CONTACTS_WRITE, "clienteling.add_sharedlink")
    return _create_for_customer(request, payload, sharing.share_link, shared_link_body)


class AlertSettingsIn(Strict):
    by_email: bool


@router.get("/reminders/alert-settings", response={200: AlertSettingsOut}, summary="How the caller gets alerts")
def get_alert_settings(request: HttpRequest) -> dict[str, Any]:
    require(request, TASKS_READ, "clienteling.view_task")
    return {"by_email": alerts.wants_email(request.user)}


@router.put(
    "/reminders/alert-settings",
    response={200: AlertSettingsOut},
    summary="Whether the caller also gets alerts about their customers by email",
)
def put_alert_settings(request: HttpRequest, payload: AlertSettingsIn) -> dict[str, Any]:
    require(request, TASKS_WRITE, "clienteling.view_task")
    return {"by_email": alerts.set_email_alerts(request.user, by_email=payload.by_email).by_email}


def reminder_body(reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.pk,
        "customer_id": reminder.customer_id,
        "customer_name": reminder.customer.name,
        "reason": reminder.reason,
        "day": reminder.day.isoformat(),
        "detail": reminder.detail,
        "status": reminder.status,
        "show_on": reminder.show_on.isoformat(),
        "message": reminders.suggested_message(reminder),
        "alert": bool(reminder.event),
    }


@router.get("/reminders", response={200: ReminderPage}, summary="The caller's care reminders for today")
def list_reminders(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, TASKS_READ, "clienteling.view_task")
    page = paginate(reminders.todays_list(request.user, timezone.localdate()), limit=limit, offset=offset)
    return page_body(page, [reminder_body(r) for r in page.items])


@router.post("/reminders/{reminder_id}/done", response={200: ReminderOut}, summary="Mark a care reminder done")
def reminder_done(request: HttpRequest, reminder_id: int) -> dict[str, Any]:
    require(request, TASKS_WRITE, "clienteling.view_task")
    reminder = reminders.get_reminder(request.user, reminder_id)
    reminders.mark_done(reminder, actor=actor_for(request))
    return reminder_body(reminders.get_reminder(request.user, reminder_id))


@router.post("/reminders/{reminder_id}/snooze", response={200: ReminderOut}, summary="Show a reminder again later")
def reminder_snooze(request: HttpRequest, reminder_id: int, payload: SnoozeIn) -> dict[str, Any]:
    require(request, TASKS_WRITE, "clienteling.view_task")
    reminder = reminders.get_reminder(request.user, reminder_id)
    reminders.snooze(reminder, days=payload.days, today=timezone.localdate(), actor=actor_for(request))
    return reminder_body(reminders.get_reminder(request.user, reminder_id))
