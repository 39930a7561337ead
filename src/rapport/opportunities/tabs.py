"""The 360 page's Opportunities tab: the customer's opportunities and a link to open one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.opportunities.models import Opportunity


def opportunities_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    found = Opportunity.objects.filter(customer=customer).select_related("stage", "owner")
    return {"opportunities": found.order_by("-created_at")[:50]}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "opportunities",
            _("Opportunities"),
            "opportunities/tabs/opportunities.html",
            opportunities_tab,
            position=65,
            permission="opportunities.view_opportunity",
        )
    )
