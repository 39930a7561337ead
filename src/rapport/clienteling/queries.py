"""What other apps may read about tasks: a staff member's open tasks (the home page's "my tasks")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet

from rapport.clienteling.models import Task, TaskStatus
from rapport.clienteling.services import assigned_to, visible_tasks


def my_open_tasks(user: Any) -> QuerySet[Task]:
    """Open tasks for ``user`` — their own and their store's unassigned ones — soonest due first,
    the same selection as their task list."""
    return visible_tasks(user).filter(assigned_to(user), status=TaskStatus.OPEN)


def my_task_counts(user: Any, *, now: dt.datetime) -> dict[str, int]:
    """How many of ``user``'s open tasks there are and how many are past due, in one query."""
    return my_open_tasks(user).aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
