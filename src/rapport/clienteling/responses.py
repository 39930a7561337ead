"""The bodies the tasks API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from ninja import Field

from rapport.core.api import Body


class TaskOut(Body):
    id: int
    customer_id: int
    title: str
    kind: str
    priority: int
    due_at: str
    assignee: str | None
    store: str | None
    status: str
    outcome: str
    notes: str
    recurrence: str
    source: str
    completed_at: str | None
    next_id: int | None


class TaskPage(Body):
    count: int
    limit: int
    offset: int
    results: list[TaskOut]


class BulkTasksOut(Body):
    created: int


class CompletionRow(Body):
    id: int | str
    name: str
    total: int
    done: int
    open: int
    overdue: int
    rate: int


class CompletionOut(Body):
    people: list[CompletionRow]
    stores: list[CompletionRow]


TaskPage.model_rebuild()
CompletionOut.model_rebuild()


class ContactOut(Body):
    id: int
    customer_id: int
    kind: str
    purpose: str
    note: str
    staff: str | None
    store: str | None
    task_id: int | None
    occurred_at: str


class ContactPage(Body):
    count: int
    limit: int
    offset: int
    results: list[ContactOut]


class ContactCardOut(Body):
    customer_id: int
    last_contacted_at: str | None
    marketing_refused: list[str]


class ReminderOut(Body):
    id: int
    customer_id: int
    customer_name: str
    reason: str
    day: str
    detail: str
    status: str
    show_on: str
    message: str
    alert: bool = Field(description="made as its event happened (a complaint opened, a level lowered)")


class ReminderPage(Body):
    count: int
    limit: int
    offset: int
    results: list[ReminderOut]


class SharedLinkOut(Body):
    id: int
    customer_id: int
    link: str = Field(description="the tracked address to give the customer")
    url: str
    title: str
    staff: str | None
    created_at: str
    first_opened_at: str | None
    opens: int


class SharedLinkPage(Body):
    count: int
    limit: int
    offset: int
    results: list[SharedLinkOut]


class AlertSettingsOut(Body):
    by_email: bool = Field(description="alerts also by email (in the app they always show)")
