"""The customer 360 "Recommendations" tab: what the shop would show this customer, and why."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.recommendations import services
from rapport.recommendations.queries import latest_run


def recommendations(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {"suggestions": services.for_customer(customer, limit=10), "run": latest_run()}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "recommendations",
            _("Recommendations"),
            "recommendations/tabs/recommendations.html",
            recommendations,
            position=25,
            permission="recommendations.view_recommendation",
        )
    )
