"""Statements list entries in booking order, so each balance-after follows from the one below it;
``check_ledgers`` finds every account, coupon and card that does not add up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, BenefitCard, Coupon, CouponStatus, EarnRule, Entry
from rapport.loyalty.services import cards, coupons, points
from rapport.loyalty.services.checks import check_ledgers
from rapport.loyalty.tests.factories import coupon_template


def _import_order(customer: Customer, total: str, placed_at: dt.datetime, actor: Actor) -> None:
    commerce.upsert_order(
        data={
            "channel": "web",
            "external_id": f"late-{placed_at:%j}",
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": placed_at.isoformat(),
            "lines": [{"sku": "GIFT", "name": "Gift box", "quantity": 1, "unit_price": total}],
        },
        actor=actor,
    )


def test_a_statement_adds_up_in_the_order_shown_when_an_order_is_imported_late(
    admin_api: Client, member: Customer, earn_rule: EarnRule, system_actor: Actor
) -> None:
    points.award(member, points=500, key="gift", actor=system_actor)
    points.spend(member, points=300, key="spend", actor=system_actor)
    # An order placed ten days ago arrives now: it earns at its own date, booked after the spend.
    _import_order(member, "120.00", timezone.now() - dt.timedelta(days=10), system_actor)
    results = admin_api.get(f"/api/v1/loyalty/customers/{member.pk}/entries", {"asset": "points"}).json()["results"]
    running = Decimal("0")
    for entry in reversed(results):  # oldest first, as shown from the bottom up
        running += Decimal(entry["amount"])
        assert Decimal(entry["balance_after"]) == running
    assert running == Decimal("320")
    assert check_ledgers() == []


def test_the_assets_tab_shows_the_statement_in_booking_order(
    admin_client: Client, member: Customer, earn_rule: EarnRule, system_actor: Actor
) -> None:
    points.award(member, points=500, key="gift", actor=system_actor)
    points.spend(member, points=300, key="spend", actor=system_actor)
    _import_order(member, "120.00", timezone.now() - dt.timedelta(days=10), system_actor)
    page = admin_client.get(f"/customers/{member.pk}/?tab=assets")
    shown = [e.pk for e in page.context["entries"]]
    assert shown == sorted(shown, reverse=True)


def test_check_ledgers_finds_what_does_not_add_up(
    member: Customer, make_customer: Callable[..., Customer], system_actor: Actor, settings: Any
) -> None:
    points.award(member, points=500, key="a", actor=system_actor)
    points.spend(member, points=200, key="b", actor=system_actor)
    template = coupon_template(per_customer_limit=0)
    coupon = coupons.issue(template, member, key="c", actor=system_actor)
    assert check_ledgers() == []

    spend = Entry.objects.get(idempotency_key="b")
    Entry.objects.filter(pk=spend.pk).update(balance_after=Decimal("400"))
    Account.objects.filter(customer=member).update(balance=Decimal("250"))
    Coupon.objects.filter(pk=coupon.pk).update(status=CouponStatus.REDEEMED)
    account = Account.objects.get(customer=member)
    problems = check_ledgers()
    assert {(p.kind, p.object_id) for p in problems} == {("account", account.pk), ("coupon", coupon.pk)}
    messages = [str(p) for p in problems]
    assert any(f"entry #{spend.pk}: balance after 400" in m and "add up to 300" in m for m in messages)
    assert any("balance 250.00, but its last entry says 400" in m for m in messages)
    assert any("open lots hold 300" in m for m in messages)
    assert any("without when, on which order, a redemption in its history" in m for m in messages)

    with pytest.raises(CommandError, match="problem"):
        call_command("check_ledgers")


def test_check_ledgers_checks_cards_against_their_periods(member: Customer, system_actor: Actor) -> None:
    from rapport.loyalty.models import CardType

    card = cards.grant(
        CardType.objects.create(name="Club", price=Decimal("0"), validity_days=30), member, key="k", actor=system_actor
    )
    assert check_ledgers() == []
    BenefitCard.objects.filter(pk=card.pk).update(ends_at=card.ends_at + dt.timedelta(days=3))
    assert [p.kind for p in check_ledgers()] == ["benefit card"]
