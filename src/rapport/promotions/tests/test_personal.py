"""Personal promotions on a real database: granted once per key, offered by the engine to the holder
only while valid, each grant with its own uses, re-checked at redemption; what a message says about
one; and the segment conditions on uses and grants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.core.errors import Conflict
from rapport.promotions import personal
from rapport.promotions.models import Audience, PersonalPromotion, PromotionKind
from rapport.promotions.pricing import CartLine
from rapport.promotions.services import Shopper, price_cart, record_uses, reverse_uses
from rapport.promotions.tests.factories import personal_promotion
from rapport.segments.compiler import members

D = Decimal
pytestmark = pytest.mark.django_db


CART = [CartLine("TEE", 3, D("80.00"), "tops")]


def _total(customer_id: int | None, at: dt.datetime | None = None) -> Decimal:
    return price_cart(CART, shopper=Shopper(customer_id=customer_id), at=at).quote.total


def test_only_the_holder_gets_it_and_only_while_it_is_valid(system_actor, make_customer):
    promotion = personal_promotion("back199")
    holder, other = make_customer(), make_customer()
    now = timezone.now()
    personal.grant(promotion, [(holder.pk, "k1")], hours=72, now=now)
    assert (_total(holder.pk), _total(other.pk), _total(None)) == (D("210.00"), D("240.00"), D("240.00"))
    assert _total(holder.pk, at=now + dt.timedelta(hours=72)) == D("240.00")
    assert _total(holder.pk, at=now - dt.timedelta(seconds=1)) == D("240.00")


def test_a_grant_is_once_per_key_and_a_public_or_switched_off_promotion_is_not_granted(system_actor, make_customer):
    promotion = personal_promotion("back199")
    customer = make_customer()
    now = timezone.now()
    personal.grant(promotion, [(customer.pk, "run-1")], hours=72, now=now)
    personal.grant(promotion, [(customer.pk, "run-1")], hours=1, now=now + dt.timedelta(hours=1))
    assert list(PersonalPromotion.objects.values_list("key", "valid_until")) == [
        ("run-1", now + dt.timedelta(hours=72))
    ]
    public = personal_promotion("all", audience=Audience.EVERYONE)
    personal.grant(public, [(customer.pk, "run-2")], hours=72, now=now)
    promotion.is_active = False
    promotion.save()
    personal.grant(promotion, [(customer.pk, "run-3")], hours=72, now=now)
    assert PersonalPromotion.objects.count() == 1


def test_each_grant_gives_its_own_uses_and_redemption_rechecks_the_grant(system_actor, make_customer):
    promotion = personal_promotion("back199", per_customer_limit=1)
    customer = make_customer()
    personal.grant(promotion, [(customer.pk, "run-1")], hours=72, now=timezone.now() - dt.timedelta(seconds=5))
    priced = price_cart(CART, shopper=Shopper(customer_id=customer.pk))
    record_uses(priced, customer_id=customer.pk, order_id=None, key="checkout:1", actor=system_actor)
    assert _total(customer.pk) == D("240.00")  # this grant's one use is spent
    with pytest.raises(Conflict) as caught:
        record_uses(priced, customer_id=customer.pk, order_id=None, key="checkout:2", actor=system_actor)
    assert caught.value.errors[0].code == "cap_reached"
    reverse_uses(key="checkout:1", share=D(1), actor=system_actor)
    assert _total(customer.pk) == D("210.00")  # a refund in full gives the use back

    record_uses(priced, customer_id=customer.pk, order_id=None, key="checkout:3", actor=system_actor)
    later = timezone.now() + dt.timedelta(seconds=1)
    personal.grant(promotion, [(customer.pk, "run-2")], hours=72, now=later)
    assert _total(customer.pk, at=later + dt.timedelta(seconds=1)) == D("210.00")  # the new grant's use


def test_redeeming_after_the_grant_expired_is_refused(system_actor, make_customer):
    promotion = personal_promotion("back199")
    customer = make_customer()
    grant_time = timezone.now() - dt.timedelta(hours=2)
    personal.grant(promotion, [(customer.pk, "run-1")], hours=3, now=grant_time)
    priced = price_cart(CART, shopper=Shopper(customer_id=customer.pk))
    PersonalPromotion.objects.update(valid_until=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(Conflict):
        record_uses(priced, customer_id=customer.pk, order_id=None, key="checkout:1", actor=system_actor)
    with pytest.raises(Conflict):
        record_uses(priced, customer_id=None, order_id=None, key="checkout:2", actor=system_actor)


@pytest.mark.parametrize(
    ("fields", "offer"),
    [
        ({"tiers": [{"threshold": "199", "amount_off": "30"}]}, ("199", "30 off", "Spend 199, get 30 off")),
        (
            {"tiers": [{"threshold": "200", "amount_off": "20"}, {"threshold": "500.50", "percent_off": "12.5"}]},
            ("200", "20 off", "Spend 200, get 20 off / Spend 500.50, get 12.50% off"),
        ),
        (
            {"tiers": [{"threshold": "100", "amount_off": "10"}], "repeat": True},
            ("100", "10 off", "Every 100, get 10 off"),
        ),
        ({"kind": PromotionKind.ITEM_DISCOUNT, "tiers": [], "percent_off": "20"}, ("", "20% off", "20% off")),
        ({"kind": PromotionKind.BUY_X_GET_Y, "tiers": [], "buy": 2, "get": 1}, ("2", "", "Buy 2, get 1 free")),
    ],
)
def test_what_a_message_says_about_a_promotion(system_actor, fields, offer):
    assert personal.offer_text(personal_promotion("p", **fields)) == offer


def test_held_facts_show_the_grant_lasting_longest(system_actor, make_customer):
    short, long = personal_promotion("short"), personal_promotion("long", name="Welcome back")
    customer, nobody = make_customer(), make_customer()
    now = timezone.now()
    personal.grant(short, [(customer.pk, "a")], hours=1, now=now)
    personal.grant(long, [(customer.pk, "b")], hours=48, now=now)
    facts = personal.held_facts([customer.pk, nobody.pk], now)
    assert set(facts) == {customer.pk}
    assert facts[customer.pk]["name"] == "Welcome back" and facts[customer.pk]["offer"] == "Spend 199, get 30 off"
    assert facts[customer.pk]["expires_at"] == timezone.localtime(now + dt.timedelta(hours=48)).strftime(
        "%Y-%m-%d %H:%M"
    )


def test_segment_conditions_on_uses_and_grants(system_actor, make_customer):
    promotion = personal_promotion("back199")
    used, refunded, holder, idle = (make_customer() for _ in range(4))
    now = timezone.now()
    personal.grant(promotion, [(c.pk, f"k{c.pk}") for c in (used, refunded, holder)], hours=72, now=now)
    priced = price_cart(CART, shopper=Shopper(customer_id=used.pk))
    record_uses(priced, customer_id=used.pk, order_id=None, key="c1", actor=system_actor)
    record_uses(priced, customer_id=refunded.pk, order_id=None, key="c2", actor=system_actor)
    reverse_uses(key="c2", share=D(1), actor=system_actor)

    def chosen(rule: dict[str, Any], at: dt.datetime | None = None) -> set[int]:
        return set(members({"all": [rule]}, now=at or timezone.now()).values_list("pk", flat=True))

    by_code = {"type": "promotion_used", "op": "did", "promotion": "back199", "window_days": 7}
    assert chosen(by_code) == {used.pk}
    assert chosen({**by_code, "op": "did_not"}) == {refunded.pk, holder.pk, idle.pk}
    assert chosen(by_code, at=now + dt.timedelta(days=8)) == set()
    holds = {"type": "personal_promotion", "op": "has", "promotion": promotion.pk}
    assert chosen(holds) == {used.pk, refunded.pk, holder.pk}
    assert chosen(holds, at=now + dt.timedelta(hours=73)) == set()
    assert idle.pk in chosen({"type": "personal_promotion", "op": "has_none"})
