"""The checkout prices through the promotions engine: quote and redeem show and record the
promotions, the member discount is the member-price kind, refunds give the promotions back
(wholly with the redemption, in part with a partial refund); older carts without quantities work."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from django.test import Client
from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.customers.models import Customer
from rapport.loyalty.models import CouponStatus, Level, Membership, Redemption
from rapport.loyalty.services import checkout, coupons
from rapport.loyalty.services.cart import Cart, CartItem
from rapport.loyalty.tests.factories import coupon_template
from rapport.promotions.models import Promotion, PromotionKind, PromotionUse
from rapport.promotions.services import create_promotion

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def full_reduction(system_actor: Actor) -> Promotion:
    promotion, _ = create_promotion(
        {
            "code": "MAN300",
            "name": "满300减30",
            "kind": PromotionKind.FULL_REDUCTION,
            "starts_at": timezone.now() - timedelta(days=1),
            "tiers": [{"threshold": "300", "amount_off": "30"}],
        },
        actor=system_actor,
    )
    return promotion


@pytest.fixture
def buyer(make_customer: Callable[..., Customer]) -> Customer:
    return make_customer(name="Zhao Min")


def tee_cart() -> Cart:
    return Cart(total=D("320"), items=(CartItem("TEE", D("320"), "tops", quantity=4, unit_price=D("80")),))


def test_quote_shows_the_promotions_and_what_is_left(buyer: Customer, full_reduction: Promotion) -> None:
    quote = checkout.quote(buyer, tee_cart())
    assert quote["promotions"]["discount"] == D("30.00") and quote["promotions"]["after"] == D("290.00")
    assert [(a["code"], a["layer"]) for a in quote["promotions"]["applied"]] == [("MAN300", "order")]


def test_an_older_cart_with_only_a_total_still_reaches_order_offers(buyer: Customer, full_reduction: Promotion) -> None:
    assert checkout.quote(buyer, Cart(total=D("300")))["promotions"]["discount"] == D("30.00")


def test_the_member_discount_is_priced_as_the_member_price_kind(buyer: Customer, full_reduction: Promotion) -> None:
    gold = Level.objects.create(name="Gold", rank=2, discount_percent=D("5"))
    Membership.objects.filter(customer=buyer).update(level=gold)
    if not Membership.objects.filter(customer=buyer).exists():
        Membership.objects.create(customer=buyer, level=gold)
    quote = checkout.quote(buyer, tee_cart())
    # 5 % off each tee (4 × 4.00), then 304 still reaches 满300减30
    assert quote["member_discount"]["amount"] == D("16.00")
    assert quote["promotions"]["discount"] == D("30.00") and quote["promotions"]["after"] == D("274.00")


def test_redeem_records_the_promotions_and_reverse_gives_them_back(
    buyer: Customer, full_reduction: Promotion, system_actor: Actor
) -> None:
    redemption = checkout.redeem(buyer, tee_cart(), key="shop-9", order_reference="SO-9", actor=system_actor)
    assert redemption.promotion_discount == D("30.00") and redemption.amount_due == D("290.00")
    use = PromotionUse.objects.get()
    assert (use.key, use.amount, use.customer_id) == ("checkout:shop-9", D("30.00"), buyer.pk)
    assert Promotion.objects.get().times_used == 1
    again = checkout.redeem(buyer, tee_cart(), key="shop-9", order_reference="SO-9", actor=system_actor)
    assert again.pk == redemption.pk and PromotionUse.objects.count() == 1
    checkout.reverse(Redemption.objects.get(pk=redemption.pk), actor=system_actor)
    use.refresh_from_db()
    assert use.reversed_amount == D("30.00") and Promotion.objects.get().times_used == 0


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_the_api_cart_takes_quantities_and_names_a_unit_price_that_does_not_add_up(
    admin_api: Client, buyer: Customer, full_reduction: Promotion
) -> None:
    cart = {"total": "320.00", "items": [{"sku": "TEE", "amount": "320.00", "quantity": 4, "unit_price": "80.00"}]}
    quote = _post(admin_api, "/api/v1/loyalty/checkout/quote", {"customer": buyer.pk, "cart": cart})
    assert quote.status_code == 200 and quote.json()["promotions"]["discount"] == "30.00"
    cart["items"][0]["unit_price"] = "70.00"  # type: ignore[index]
    wrong = _post(admin_api, "/api/v1/loyalty/checkout/quote", {"customer": buyer.pk, "cart": cart})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "cart.items[0].unit_price"


def test_a_partial_refund_gives_back_its_share_of_the_promotions(
    buyer: Customer, full_reduction: Promotion, system_actor: Actor
) -> None:
    order, _ = commerce.upsert_order(
        data={
            "channel": "web",
            "external_id": "SO-10",
            "customer_id": buyer.pk,
            "status": "paid",
            "placed_at": timezone.now().isoformat(),
            "lines": [{"sku": "TEE", "name": "Tee", "quantity": 4, "unit_price": "80.00"}],
        },
        actor=system_actor,
    )
    checkout.redeem(buyer, tee_cart(), key="shop-10", order_reference="SO-10", actor=system_actor)
    commerce.record_refund(order, external_id="R1", amount="80.00", actor=system_actor)
    use = PromotionUse.objects.get()
    assert use.reversed_amount == D("7.50")  # a quarter of the order, a quarter of 30
    assert Promotion.objects.get().times_used == 1  # the use still counts until all of it is back


def test_a_segment_promotion_applies_through_the_checkout_api_while_the_customer_is_in_the_segment(
    admin_api: Client, buyer: Customer, system_actor: Actor
) -> None:
    from rapport.segments.models import Segment

    shanghai = Segment.objects.create(name="SH", rule={"type": "profile", "field": "city", "op": "eq", "value": "上海"})
    create_promotion(
        {
            "code": "SH-TEE",
            "name": "上海会员 T恤 9折",
            "kind": PromotionKind.ITEM_DISCOUNT,
            "starts_at": timezone.now() - timedelta(days=1),
            "skus": ["TEE"],
            "percent_off": "10",
            "audience": "segment",
            "segment_id": shanghai.pk,
        },
        actor=system_actor,
    )
    cart = {"total": "320.00", "items": [{"sku": "TEE", "amount": "320.00", "quantity": 4, "unit_price": "80.00"}]}
    Customer.objects.filter(pk=buyer.pk).update(city="北京")
    outside = _post(admin_api, "/api/v1/loyalty/checkout/quote", {"customer": buyer.pk, "cart": cart}).json()
    assert outside["promotions"]["applied"] == []
    Customer.objects.filter(pk=buyer.pk).update(city="上海")
    inside = _post(admin_api, "/api/v1/loyalty/checkout/quote", {"customer": buyer.pk, "cart": cart}).json()
    assert [(a["code"], a["amount"]) for a in inside["promotions"]["applied"]] == [("SH-TEE", "32.00")]
    redemption = checkout.redeem(buyer, tee_cart(), key="seg-1", order_reference="SO-SEG", actor=system_actor)
    assert redemption.promotion_discount == D("32.00")
    assert PromotionUse.objects.get(key="checkout:seg-1").promotion.code == "SH-TEE"


# --- the loyalty coupon is the engine's coupon layer ---------------------------------------------


@pytest.fixture
def tee_discount(system_actor: Actor) -> Promotion:
    promotion, _ = create_promotion(
        {
            "code": "TEE-10",
            "name": "T恤9折",
            "kind": PromotionKind.LIMITED_TIME_PRICE,
            "starts_at": timezone.now() - timedelta(days=1),
            "skus": ["TEE"],
            "percent_off": "10",
        },
        actor=system_actor,
    )
    return promotion


def test_the_coupon_is_chosen_with_the_promotions_and_its_minimum_spend_judged_after_them(
    buyer: Customer, tee_discount: Promotion, system_actor: Actor
) -> None:
    """满300减40 on 4 tees at 80: with 10 % off the tees come to 288, under the coupon's 300; the engine
    weighs both ways (32 off, or 40 off at list price) and quote and redeem agree on the coupon's 40."""
    held = coupons.issue(
        coupon_template(name="满300减40", amount_off=D("40"), threshold=D("300")), buyer, key="c1", actor=system_actor
    )
    quote = checkout.quote(buyer, tee_cart())
    assert quote["promotions"]["discount"] == D("32.00")  # without a coupon the tee price is best
    [row] = quote["coupons"]
    assert row.applicable and row.discount == D("40.00")
    redemption = checkout.redeem(
        buyer, tee_cart(), key="c-1", order_reference="SO-C1", actor=system_actor, coupon_code=held.code
    )
    assert (redemption.promotion_discount, redemption.coupon_discount, redemption.amount_due) == (
        D("0.00"),
        D("40.00"),
        D("280.00"),
    )
    assert not PromotionUse.objects.filter(key="checkout:c-1").exists()  # the tee price was not used
    held.refresh_from_db()
    assert held.status == CouponStatus.REDEEMED and held.discount == D("40.00")


def test_quote_and_redeem_refuse_a_coupon_for_the_same_reasons(
    buyer: Customer, tee_discount: Promotion, system_actor: Actor
) -> None:
    scoped = coupons.issue(
        coupon_template(name="鞋 满100减20", product_skus=["SHOE"]), buyer, key="c2", actor=system_actor
    )
    dear = coupons.issue(
        coupon_template(name="满1000减100", amount_off=D("100"), threshold=D("1000"), per_customer_limit=0),
        buyer,
        key="c3",
        actor=system_actor,
    )
    rows = {row.code: row for row in checkout.quote(buyer, tee_cart())["coupons"]}
    assert not rows[scoped.code].applicable and not rows[dear.code].applicable
    for held, code in ((scoped, "out_of_scope"), (dear, "below_threshold")):
        with pytest.raises(Conflict) as refused:
            checkout.redeem(
                buyer, tee_cart(), key=f"r-{code}", order_reference="SO-R", actor=system_actor, coupon_code=held.code
            )
        assert refused.value.errors[0].code == code
        assert rows[held.code].reason == refused.value.errors[0].message
    assert not PromotionUse.objects.exists() and not Redemption.objects.exists()


def test_an_order_offer_that_excludes_coupons_gives_way_only_when_the_coupon_is_worth_more(
    buyer: Customer, system_actor: Actor
) -> None:
    create_promotion(
        {
            "code": "MAN300-SOLO",
            "name": "满300减30 不与券同享",
            "kind": PromotionKind.FULL_REDUCTION,
            "starts_at": timezone.now() - timedelta(days=1),
            "tiers": [{"threshold": "300", "amount_off": "30"}],
            "with_coupons": False,
        },
        actor=system_actor,
    )
    small = coupons.issue(coupon_template(name="满100减20"), buyer, key="c4", actor=system_actor)
    large = coupons.issue(
        coupon_template(name="满300减50", amount_off=D("50"), threshold=D("300"), per_customer_limit=0),
        buyer,
        key="c5",
        actor=system_actor,
    )
    rows = {row.code: row for row in checkout.quote(buyer, tee_cart())["coupons"]}
    assert not rows[small.code].applicable and rows[small.code].discount == 0
    assert rows[large.code].applicable and rows[large.code].discount == D("50.00")
    with pytest.raises(Conflict) as refused:
        checkout.redeem(
            buyer, tee_cart(), key="x-1", order_reference="SO-X", actor=system_actor, coupon_code=small.code
        )
    assert refused.value.errors[0].code == "excluded"
    redemption = checkout.redeem(
        buyer, tee_cart(), key="x-2", order_reference="SO-X", actor=system_actor, coupon_code=large.code
    )
    assert (redemption.promotion_discount, redemption.coupon_discount) == (D("0.00"), D("50.00"))


def test_the_quote_looks_the_running_promotions_up_once_however_many_coupons_are_held(
    buyer: Customer, tee_discount: Promotion, system_actor: Actor
) -> None:
    for n, amount in enumerate(("10", "20", "30")):
        template = coupon_template(name=f"减{amount}", amount_off=D(amount))
        coupons.issue(template, buyer, key=f"held-{n}", actor=system_actor)
    with patch.object(checkout, "available", wraps=checkout.available) as looked_up:
        quote = checkout.quote(buyer, tee_cart())
    assert looked_up.call_count == 1
    assert [row.discount for row in quote["coupons"]] == [D("30.00"), D("20.00"), D("10.00")]
