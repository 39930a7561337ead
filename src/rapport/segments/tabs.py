"""The customer 360 "Segments" tab: the saved segments this customer belongs to right now, and
for each saved segment why the customer is in it or not (each condition, their value, pass/fail)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.segments.compiler import members
from rapport.segments.explain import Step, explain
from rapport.segments.models import Segment

MAX_SEGMENTS = 100


def segments(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """One probe per saved segment, each the segment's query narrowed to this customer's id."""
    saved = list(Segment.objects.filter(is_template=False).order_by("name")[:MAX_SEGMENTS])
    base = Customer.objects.filter(pk=customer.pk)
    member_of: list[tuple[Segment, Step]] = []
    not_in: list[tuple[Segment, Step]] = []
    for segment in saved:
        why = explain(segment.rule, customer.pk)
        (member_of if members(segment.rule, base=base).exists() else not_in).append((segment, why))
    return {"member_of": member_of, "not_in": not_in, "segments_checked": len(saved)}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "segments",
            _("Segments"),
            "segments/tabs/segments.html",
            segments,
            position=50,
            permission="segments.view_segment",
        )
    )
