"""Promotions' services on a real database: setting one up (bad fields named, overlaps reported),
who may use it where and when, pricing a cart through the engine, uses within caps, refunds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer, Store
from rapport.promotions import queries
from rapport.promotions.models import Audience, Promotion, PromotionKind, PromotionUse
from rapport.promotions.pricing import CartLine
from rapport.promotions.services import (
    Shopper,
    available,
    create_promotion,
    price_cart,
    record_uses,
    reverse_uses,
    update_promotion,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def make_promotion(system_actor: Actor) -> Callable[..., Promotion]:
    def make(
        code: str, kind: str = PromotionKind.FULL_REDUCTION, store_ids: tuple[int, ...] = (), **fields: Any
    ) -> Promotion:
        defaults: dict[str, Any] = {
            "code": code,
            "name": code,
            "kind": kind,
            "starts_at": timezone.now() - timedelta(days=1),
        }
        if kind in (PromotionKind.FULL_REDUCTION, PromotionKind.FIRST_ORDER) and "tiers" not in fields:
            defaults["tiers"] = [{"threshold": "300", "amount_off": "30"}]
        promotion, _ = create_promotion({**defaults, **fields}, actor=system_actor, store_ids=store_ids)
        return promotion

    return make


def cart(*lines: tuple[str, int, str, str]) -> list[CartLine]:
    return [CartLine(sku, quantity, D(unit), category) for sku, quantity, unit, category in lines]


def test_tiered_full_reduction_and_a_limited_time_price_price_a_cart_with_reasons(make_promotion):
    make_promotion("FR", tiers=[{"threshold": "200", "amount_off": "20"}, {"threshold": "500", "amount_off": "60"}])
    make_promotion("LT", PromotionKind.LIMITED_TIME_PRICE, skus=["TEE"], price="59.00", max_units_per_line=1)
    priced = price_cart(cart(("TEE", 2, "99", "tops"), ("JEANS", 1, "399", "bottoms")), shopper=Shopper())
    # two TEEs, one at the limited price (99 + 59), and jeans at 399: 557 ≥ 500, so 60 off
    assert priced.quote.total == D("497.00")
    assert [(a.key, a.amount) for a in priced.quote.applied] == [("LT", D("40.00")), ("FR", D("60.00"))]
    assert set(priced.promotions) == {"LT", "FR"}


def test_bad_fields_are_named_and_nothing_is_saved(system_actor):
    with pytest.raises(InvalidInput) as caught:
        create_promotion(
            {
                "code": "BAD",
                "name": "bad",
                "kind": PromotionKind.FULL_REDUCTION,
                "starts_at": timezone.now(),
                "ends_at": timezone.now() - timedelta(hours=1),
                "tiers": [{"threshold": "500", "amount_off": "60"}, {"threshold": "200", "amount_off": "300"}],
                "total_limit": 0,
            },
            actor=system_actor,
        )
    fields = {e.field for e in caught.value.errors}
    assert {"ends_at", "tiers[1].threshold", "tiers[1].amount_off", "total_limit"} <= fields
    assert not Promotion.objects.exists()


def test_unknown_fields_and_missing_kind_values_are_named(system_actor):
    with pytest.raises(InvalidInput) as caught:
        create_promotion(
            {"code": "X", "name": "x", "kind": PromotionKind.BUNDLE, "starts_at": timezone.now(), "colour": "red"},
            actor=system_actor,
        )
    assert [e.field for e in caught.value.errors] == ["colour"]
    with pytest.raises(InvalidInput) as caught:
        create_promotion(
            {
                "code": "X",
                "name": "x",
                "kind": PromotionKind.BUNDLE,
                "starts_at": timezone.now(),
                "components": [["A", 1]],
            },
            actor=system_actor,
        )
    assert {e.field for e in caught.value.errors} == {"components", "price"}


def test_overlapping_schedules_on_the_same_goods_are_reported(make_promotion, system_actor):
    make_promotion("CAT-A", PromotionKind.ITEM_DISCOUNT, categories=["tops"], percent_off="10")
    _, warnings = create_promotion(
        {
            "code": "CAT-B",
            "name": "CAT-B",
            "kind": PromotionKind.ITEM_DISCOUNT,
            "categories": ["tops"],
            "percent_off": "15",
            "starts_at": timezone.now(),
        },
        actor=system_actor,
    )
    assert len(warnings) == 1 and "CAT-A" in warnings[0]
    other, warnings = create_promotion(
        {
            "code": "CAT-C",
            "name": "CAT-C",
            "kind": PromotionKind.ITEM_DISCOUNT,
            "categories": ["shoes"],
            "percent_off": "15",
            "starts_at": timezone.now(),
        },
        actor=system_actor,
    )
    assert warnings == []
    _, warnings = update_promotion(other, {"categories": ["tops", "shoes"]}, actor=system_actor)
    assert len(warnings) == 2


def test_audience_channel_store_and_schedule_decide_who_may_use_it(make_promotion, store: Store, other_store: Store):
    now = timezone.now()
    make_promotion("ALL")
    make_promotion("GOLD", audience=Audience.LEVELS, level_codes=["gold"])
    make_promotion("NEW", PromotionKind.FIRST_ORDER)
    make_promotion("APP", channels=["app"])
    make_promotion("HERE", store_ids=(store.pk,))
    make_promotion("LATER", starts_at=now + timedelta(days=1))
    make_promotion("OVER", starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
    make_promotion("PAUSED", is_active=False)

    def codes(shopper: Shopper, store_id: int | None, channel: str) -> set[str]:
        return {p.code for p in available(shopper, store_id=store_id, channel=channel, at=now)}

    assert codes(Shopper(), None, "web") == {"ALL"}
    assert codes(Shopper(level_code="gold", is_new=True), store.pk, "app") == {"ALL", "GOLD", "NEW", "APP", "HERE"}
    assert codes(Shopper(), other_store.pk, "web") == {"ALL"}


def test_member_price_is_one_kind_for_levels(make_promotion, system_actor):
    make_promotion(
        "GOLD-5", PromotionKind.MEMBER_PRICE, audience=Audience.LEVELS, level_codes=["gold"], percent_off="5"
    )
    lines = cart(("TEE", 1, "100", "tops"))
    assert price_cart(lines, shopper=Shopper(level_code="gold")).quote.total == D("95.00")
    assert price_cart(lines, shopper=Shopper(level_code="silver")).quote.total == D("100.00")
    with pytest.raises(InvalidInput) as caught:
        create_promotion(
            {
                "code": "M",
                "name": "M",
                "kind": PromotionKind.MEMBER_PRICE,
                "percent_off": "5",
                "starts_at": timezone.now(),
            },
            actor=system_actor,
        )
    assert [e.field for e in caught.value.errors] == ["audience"]


def test_uses_are_recorded_once_per_checkout_and_caps_hold(
    make_promotion, make_customer: Callable[..., Customer], system_actor
):
    buyer = make_customer(name="Li Lei")
    make_promotion("ONCE", per_customer_limit=1, total_limit=2)
    lines = cart(("TEE", 1, "300", "tops"))
    priced = price_cart(lines, shopper=Shopper(customer_id=buyer.pk))
    first = record_uses(priced, customer_id=buyer.pk, order_id=None, key="k1", actor=system_actor)
    again = record_uses(priced, customer_id=buyer.pk, order_id=None, key="k1", actor=system_actor)
    assert [u.pk for u in first] == [u.pk for u in again] and first[0].amount == D("30.00")
    assert Promotion.objects.get(code="ONCE").times_used == 1
    assert price_cart(lines, shopper=Shopper(customer_id=buyer.pk)).quote.discount == 0  # their one use is spent
    with pytest.raises(Conflict) as caught:
        record_uses(priced, customer_id=buyer.pk, order_id=None, key="k2", actor=system_actor)
    assert caught.value.errors[0].code == "cap_reached"
    assert PromotionUse.objects.count() == 1


def test_a_refund_gives_back_its_share_and_a_whole_refund_frees_the_use(make_promotion, system_actor):
    make_promotion("CAP", total_limit=1)
    priced = price_cart(cart(("TEE", 1, "300", "tops")), shopper=Shopper())
    record_uses(priced, customer_id=None, order_id=None, key="k", actor=system_actor)
    reverse_uses(key="k", share=D("0.5"), actor=system_actor)
    use = PromotionUse.objects.get()
    assert use.reversed_amount == D("15.00")
    assert Promotion.objects.get().times_used == 1
    reverse_uses(key="k", share=D("1"), actor=system_actor)
    use.refresh_from_db()
    assert use.reversed_amount == D("30.00") and Promotion.objects.get().times_used == 0
    assert queries.performance(Promotion.objects.get())["discount"] == D("0.00")


def test_limited_time_units_cap_counts_units_sold(make_promotion, system_actor):
    make_promotion("FLASH", PromotionKind.LIMITED_TIME_PRICE, skus=["TEE"], price="50", units_cap=3)
    priced = price_cart(cart(("TEE", 2, "99", "tops")), shopper=Shopper())
    record_uses(priced, customer_id=None, order_id=None, key="a", actor=system_actor)
    assert Promotion.objects.get().units_sold == 2
    # one unit is left at the flash price: the engine prices only that one
    second = price_cart(cart(("TEE", 2, "99", "tops")), shopper=Shopper())
    assert second.quote.discount == D("49.00")
    record_uses(second, customer_id=None, order_id=None, key="b", actor=system_actor)
    assert Promotion.objects.get().units_sold == 3
    assert price_cart(cart(("TEE", 1, "99", "tops")), shopper=Shopper()).quote.discount == 0


def city_segment(name: str, city: str) -> Any:
    from rapport.segments.models import Segment

    return Segment.objects.create(name=name, rule={"type": "profile", "field": "city", "op": "eq", "value": city})


@pytest.fixture
def segment_discount(make_promotion) -> Callable[..., Promotion]:
    """A percentage off one SKU for the members of a segment."""

    def make(code: str, sku: str, percent: str, segment: Any) -> Promotion:
        return make_promotion(
            code,
            PromotionKind.ITEM_DISCOUNT,
            skus=[sku],
            percent_off=percent,
            audience=Audience.SEGMENT,
            segment_id=segment.pk,
        )

    return make


def test_a_segment_promotion_applies_only_while_the_customer_is_in_the_segment(segment_discount):
    shanghai, beijing = city_segment("SH", "上海"), city_segment("BJ", "北京")
    segment_discount("SH-TEE", "TEE", "10", shanghai)
    segment_discount("SH-SHOE", "SHOE", "50", shanghai)
    segment_discount("BJ-TEE", "TEE", "20", beijing)
    buyer = Customer.objects.create(name="Li", city="上海", registered_at=timezone.now())
    lines = cart(("TEE", 1, "100", "tops"))

    priced = price_cart(lines, shopper=Shopper(customer_id=buyer.pk))
    assert [a.key for a in priced.quote.applied] == ["SH-TEE"]  # not BJ-TEE: she is not in Beijing's segment
    assert price_cart(lines, shopper=Shopper()).quote.discount == 0  # a guest is in no segment

    Customer.objects.filter(pk=buyer.pk).update(city="北京")  # membership is read at checkout, not from a snapshot
    assert [a.key for a in price_cart(lines, shopper=Shopper(customer_id=buyer.pk)).quote.applied] == ["BJ-TEE"]


def test_segments_are_looked_up_once_and_only_for_promotions_that_touch_the_cart(segment_discount, monkeypatch):
    from rapport.promotions import services

    segments = [city_segment(f"S{n}", "上海") for n in range(3)]
    for n, segment in enumerate(segments):
        segment_discount(f"S{n}", f"SKU{n}", "10", segment)
    buyer = Customer.objects.create(name="Li", city="上海", registered_at=timezone.now())
    asked: list[set[int]] = []
    real = services.segments_holding

    def spy(customer_id: int, segment_ids: Any, **kwargs: Any) -> set[int]:
        asked.append(set(segment_ids))
        return real(customer_id, segment_ids, **kwargs)

    monkeypatch.setattr(services, "segments_holding", spy)
    priced = price_cart(cart(("SKU0", 1, "100", ""), ("SKU2", 1, "100", "")), shopper=Shopper(customer_id=buyer.pk))
    assert sorted(a.key for a in priced.quote.applied) == ["S0", "S2"]
    assert asked == [{segments[0].pk, segments[2].pk}]
