"""The 360 page's Tasks tab: the customer's open and recent tasks, and a link to add one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.clienteling.models import Task
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer


def tasks_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {
        "tasks": Task.objects.filter(customer=customer).select_related("assignee", "store").order_by("-due_at")[:50]
    }


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "tasks",
            _("Tasks"),
            "clienteling/tabs/tasks.html",
            tasks_tab,
            position=60,
            permission="clienteling.view_task",
        )
    )
