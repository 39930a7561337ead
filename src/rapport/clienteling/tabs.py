"""The 360 page's Tasks tab: the customer's open and recent tasks, when they were last contacted,
whether marketing contact is closed (no consent), and links to add a task or record a contact."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.clienteling import contacts, queries
from rapport.clienteling.models import ContactKind, Task
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer


def tasks_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    refused = contacts.marketing_refused(customer.pk)
    return {
        "tasks": Task.objects.filter(customer=customer).select_related("assignee", "store").order_by("-due_at")[:50],
        "last_contacted": queries.last_contacted([customer.pk]).get(customer.pk),
        "marketing_refused": [label for value, label in ContactKind.choices if value in refused],
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
