"""The customer's 360° summary beside a ticket: purchase statistics, recent orders, previous
tickets, tags, and — from the loyalty and analytics domains — level, points, open coupons and
RFM / churn figures. Each part is read with one or two queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q

from rapport.analytics.queries import metrics_of
from rapport.commerce.models import CustomerStats, Order
from rapport.customers.models import Customer
from rapport.loyalty.models import Asset, Coupon, CouponStatus, Level
from rapport.loyalty.services import ledger, levels
from rapport.service import clock
from rapport.service.models import Survey, Ticket
from rapport.tags.queries import tags_of


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
        "tags": list(tags_of(customer.pk)[:20]),
        "average_csat": round(sum(scores) / len(scores), 1) if scores else None,
        **loyalty_summary(customer),
        **analytics_summary(customer),
    }


def loyalty_summary(customer: Customer) -> dict[str, Any]:
    """Level, point balance and open coupons from the loyalty domain."""
    progress = levels.progress(customer.pk)
    now = clock.now()
    open_coupons = (
        Coupon.objects.filter(customer=customer, status=CouponStatus.ISSUED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("template")
        .order_by("valid_until")[:5]
    )
    return {
        "level": level.name if isinstance(level := progress["level"], Level) else None,
        "points": ledger.balances(customer.pk).get(Asset.POINTS, Decimal(0)).normalize(),
        "coupons": [
            f"{c.template.name} · {c.code}" + (f" · {c.valid_until:%Y-%m-%d}" if c.valid_until else "")
            for c in open_coupons
        ],
    }


def analytics_summary(customer: Customer) -> dict[str, Any]:
    """RFM segment and churn risk from the analytics domain (after its metrics have run)."""
    metrics = metrics_of(customer.pk)
    if metrics is None:
        return {"rfm": None, "churn": None}
    rfm = metrics.get_rfm_segment_display() if metrics.rfm_segment else None
    if rfm and metrics.r_score is not None:
        rfm = f"{rfm} (R{metrics.r_score} F{metrics.f_score} M{metrics.m_score})"
    churn = f"{metrics.churn_probability:.0%}" if metrics.churn_probability is not None else None
    return {"rfm": rfm, "churn": churn, "lifecycle": metrics.get_lifecycle_stage_display()}
