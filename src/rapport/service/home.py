"""The home dashboard's service panel: open tickets past an SLA target (those assigned to the
viewer first), among the customers the viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.home import HomePanel, register_home_panel
from rapport.customers import queries as customer_queries
from rapport.service.models import Status, Ticket

SHOWN = 8


def sla_panel(request: HttpRequest) -> dict[str, Any]:
    visible = customer_queries.visible_customers(request.user).values("pk")
    open_tickets = Ticket.objects.filter(
        customer_id__in=visible, status__in=(Status.NEW, Status.OPEN, Status.PENDING)
    ).select_related("customer", "assignee")
    breached = open_tickets.filter(Q(first_response_breached=True) | Q(resolution_breached=True))
    mine = open_tickets.filter(assignee_id=request.user.pk)
    return {
        "breached_count": breached.count(),
        "breached": list(breached.order_by("resolution_due", "pk")[:SHOWN]),
        "mine_count": mine.count(),
        "mine_breached": mine.filter(Q(first_response_breached=True) | Q(resolution_breached=True)).count(),
    }


def register() -> None:
    register_home_panel(
        HomePanel(
            "sla",
            _("Service: SLA breaches"),
            "service/home_sla.html",
            sla_panel,
            position=30,
            permission="service.view_ticket",
        )
    )
