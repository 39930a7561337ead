"""Measurement: attribution within the window, uplift with its interval, the funnel figure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.campaigns import reports
from rapport.campaigns.models import Enrollment, Message, Plan
from rapport.commerce.services import upsert_order

pytestmark = pytest.mark.django_db


def _order(customer, system_actor, ext, at, total="100.00"):
    upsert_order(
        data={
            "channel": "web",
            "external_id": ext,
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": at,
            "lines": [{"sku": "S", "name": "Item", "quantity": 1, "unit_price": total}],
        },
        actor=system_actor,
    )


def test_orders_within_the_window_after_a_send_are_attributed(make_member, make_plan, system_actor, launch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    buyer, late, idle = make_member(), make_member(), make_member()
    plan = launch(make_plan(attribution_days=3))
    sent_at = Message.objects.get(plan=plan, customer=buyer).sent_at
    _order(buyer, system_actor, "b1", sent_at + dt.timedelta(days=1), "120.00")
    _order(late, system_actor, "l1", sent_at + dt.timedelta(days=5))
    report = reports.build(plan)
    assert (report.audience, report.sent, report.converted, str(report.revenue)) == (3, 3, 1, "120.00")
    assert report.uplift.difference is None  # no hold-out group
    assert idle.pk


def test_uplift_compares_treatment_and_control_with_a_confidence_interval():
    lift = reports.uplift(reports.GroupResult(1000, 120), reports.GroupResult(1000, 80))
    assert lift.difference == pytest.approx(0.04)
    assert lift.low == pytest.approx(0.04 - 1.96 * ((0.12 * 0.88 + 0.08 * 0.92) / 1000) ** 0.5, abs=1e-4)
    assert lift.significant
    small = reports.uplift(reports.GroupResult(20, 3), reports.GroupResult(20, 2))
    assert small.low < 0 < small.high and not small.significant


def test_report_counts_control_conversions_from_entry(make_member, make_plan, system_actor, launch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    members = [make_member() for _ in range(12)]
    plan = launch(make_plan(control_percent=50))
    held = list(
        Enrollment.objects.filter(plan=plan, state=Enrollment.State.HELD_OUT).values_list("customer_id", flat=True)
    )
    assert held, "random hold-out of 50% should hold out someone among 12"
    for customer in members:
        if customer.pk in held[:1]:
            _order(customer, system_actor, f"c{customer.pk}", timezone.now() + dt.timedelta(hours=1))
    report = reports.build(plan)
    assert report.uplift.control.size == len(held) and report.uplift.control.converted == 1
    assert "plan-funnel" in reports.funnel_figure(report)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.COMPLETED
