"""Goodwill from a ticket through the loyalty services, and the loyalty and analytics figures in
the customer summary beside the ticket."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from rapport.audit.models import AuditEntry
from rapport.core.errors import InvalidInput
from rapport.loyalty.models import CouponTemplate, Level
from rapport.loyalty.services import ledger, levels
from rapport.service import goodwill
from rapport.service.models import MessageKind
from rapport.service.summary import customer_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(db, system_actor):
    from rapport.loyalty.services import coupons

    return coupons.save_template(
        CouponTemplate(name="补偿券 ¥20", amount_off=Decimal("20"), valid_days=30, total_stock=0), actor=system_actor
    )


def test_points_are_given_once_per_key_and_recorded_on_the_ticket(customer, agent_actor, make_ticket):
    ticket = make_ticket(customer)
    goodwill.give_points(ticket, points="150", reason="快递延误", key="k1", actor=agent_actor)
    goodwill.give_points(ticket, points=150, reason="快递延误", key="k1", actor=agent_actor)  # a double click
    assert ledger.balances(customer.pk)["points"] == Decimal("150")
    notes = ticket.messages.filter(kind=MessageKind.NOTE)  # bodies are encrypted: read, then compare
    assert sum("150 points" in note.body for note in notes) == 1
    assert ticket.events.filter(action="goodwill").count() == 1
    audited = AuditEntry.objects.filter(object_type="service.ticket", changes__has_key="goodwill_points")
    assert [e.changes["goodwill_points"] for e in audited] == [150]  # values sealed with the customer's key
    with pytest.raises(InvalidInput):
        goodwill.give_points(ticket, points=99999, reason="x", key="k2", actor=agent_actor)
    with pytest.raises(InvalidInput):
        goodwill.give_points(ticket, points=10, reason="", key="k3", actor=agent_actor)


def test_coupon_from_the_ticket_page_shows_in_the_summary(agent, customer, make_ticket, template, system_actor):
    Level.objects.create(name="金卡 Gold", rank=1, threshold=Decimal("0"))
    levels.refresh(customer.pk, actor=system_actor)
    ticket = make_ticket(customer)
    client = Client()
    client.force_login(agent)
    response = client.post(
        f"/service/tickets/{ticket.pk}/goodwill/coupon/", {"template": template.pk, "reason": "包裹破损", "key": "abc"}
    )
    assert response.status_code == 302
    summary = customer_summary(customer, exclude_ticket=ticket)
    assert summary["level"] == "金卡 Gold" and len(summary["coupons"]) == 1
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "补偿券" in page and "goodwill-points" in page and "金卡 Gold" in page
