"""The "Service" tab of the customer 360 page: the customer's tickets and satisfaction answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.service.models import Survey, Ticket


def service_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    tickets = Ticket.objects.filter(customer=customer).select_related("assignee").order_by("-created_at")[:50]
    surveys = Survey.objects.filter(ticket__customer=customer, answered_at__isnull=False).select_related("ticket")[:20]
    return {"service_tickets": tickets, "service_surveys": surveys}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "service",
            _("Service"),
            "service/tabs/service.html",
            service_tab,
            position=40,
            permission="service.view_ticket",
        )
    )
