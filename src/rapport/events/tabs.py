"""The customer 360 "Timeline" tab: the customer's behaviour events, newest first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.core.listing import page_offset, paginate
from rapport.customers.models import Customer
from rapport.events.models import Event


def timeline(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    events = Event.objects.filter(customer_id=customer.pk).select_related("source")
    name = request.GET.get("event", "").strip()
    if name:
        events = events.filter(name=name)
    return {
        "events_page": paginate(events, limit=50, offset=page_offset(request.GET.get("page"), 50)),
        "event_filter": name,
    }


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "timeline",
            _("Timeline"),
            "events/tabs/timeline.html",
            timeline,
            position=30,
            permission="events.view_event",
        )
    )
