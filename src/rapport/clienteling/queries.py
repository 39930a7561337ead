"""What other apps read of clienteling: a staff member's open tasks (the home page's "my tasks"),
a customer's contacts (the 360 timeline) and when they were last contacted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from rapport.clienteling.models import Contact, Task, TaskStatus
from rapport.clienteling.services import assigned_to, visible_tasks


def my_open_tasks(user: Any) -> QuerySet[Task]:
    """Open tasks for ``user`` — their own and their store's unassigned ones — soonest due first,
    the same selection as their task list."""
    return visible_tasks(user).filter(assigned_to(user), status=TaskStatus.OPEN)


def my_task_counts(user: Any, *, now: dt.datetime) -> dict[str, int]:
    """How many of ``user``'s open tasks there are and how many are past due, in one query."""
    return my_open_tasks(user).aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))


def contacts_of(customer_id: int) -> QuerySet[Contact]:
    """Newest first, with the staff member and store."""
    return Contact.objects.filter(customer_id=customer_id).select_related("staff", "store")


def last_contacted(customer_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """When each customer was last contacted (customers never contacted are left out); one query."""
    rows = (
        Contact.objects.filter(customer_id__in=list(customer_ids))
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "last")
    )
    return dict(rows)
