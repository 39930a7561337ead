"""``/api/v1/tasks``: tasks on customers for a WeCom sidebar, a POS or a phone app: list the
caller's, create one or a segment's worth, complete one, and completion per person and store."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import TASKS_READ, TASKS_WRITE
from rapport.clienteling import services
from rapport.clienteling.models import Task, TaskStatus
from rapport.clienteling.responses import BulkTasksOut, CompletionOut, TaskOut, TaskPage
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import NotFound
from rapport.core.listing import page_body, paginate
from rapport.customers.queries import visible_customer
from rapport.segments.models import Segment

router = Router(tags=["tasks"])

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
