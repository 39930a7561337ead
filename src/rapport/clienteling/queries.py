"""What other apps read of clienteling: a staff member's open tasks (the home page's "my tasks"),
a customer's contacts (the 360 timeline) and when they were last contacted; staff contacts and
tasks done, for analytics' staff performance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from rapport.clienteling.models import Contact, ContactKind, SharedLink, Task, TaskStatus
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


def shared_links_of(customer_id: int) -> QuerySet[SharedLink]:
    """The links staff shared with the customer, newest first, with who shared them."""
    return SharedLink.objects.filter(customer_id=customer_id).select_related("staff")


def staff_contacts() -> QuerySet[Contact]:
    """Contacts of a staff member (contacts whose staff account is gone are left out), an opened link
    they shared among them: what analytics' contact attribution rule looks back over, as a subquery."""
    return Contact.objects.filter(staff__isnull=False)


def contacts_made_by_staff(since: dt.datetime, until: dt.datetime, *, store_id: int | None = None) -> dict[int, int]:
    """How many contacts each staff member made in ``[since, until)`` (at ``store_id``, or without a
    store with a customer of ``store_id``, if given); one query. Opened shared links are the
    customer's doing, not a contact made."""
    contacts = staff_contacts().filter(occurred_at__gte=since, occurred_at__lt=until).exclude(kind=ContactKind.LINK)
    if store_id is not None:
        contacts = contacts.filter(Q(store_id=store_id) | Q(store__isnull=True, customer__store_id=store_id))
    rows = contacts.values("staff_id").annotate(n=Count("id")).order_by().values_list("staff_id", "n")
    return dict(rows)


def tasks_done_by_staff(since: dt.datetime, until: dt.datetime, *, store_id: int | None = None) -> dict[int, int]:
    """How many tasks each assignee completed in ``[since, until)`` (tasks of ``store_id`` or of its
    customers if given); one query."""
    tasks = Task.objects.filter(
        status=TaskStatus.DONE, assignee__isnull=False, completed_at__gte=since, completed_at__lt=until
    )
    if store_id is not None:
        tasks = tasks.filter(Q(store_id=store_id) | Q(customer__store_id=store_id))
    rows = tasks.values("assignee_id").annotate(n=Count("id")).order_by().values_list("assignee_id", "n")
    return dict(rows)
