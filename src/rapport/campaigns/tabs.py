"""The customer 360 "Messages" tab: what plans sent this customer, the plans they are in now, and
whether their email address is suppressed because it bounced."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.models import EmailSuppression, Enrollment, Message
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer

SHOWN = 50


def messages_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {
        "customer_messages": Message.objects.filter(customer=customer).select_related("plan")[:SHOWN],
        "active_enrollments": Enrollment.objects.filter(
            customer=customer, state__in=[Enrollment.State.ACTIVE, Enrollment.State.WAITING]
        ).select_related("plan", "step"),
        "email_suppression": EmailSuppression.objects.filter(address_index=customer.email_index).first()
        if customer.email_index
        else None,
    }


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "messages",
            _("Messages"),
            "campaigns/tabs/messages.html",
            messages_tab,
            position=60,
            permission="campaigns.view_plan",
        )
    )
