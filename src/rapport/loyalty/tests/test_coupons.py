from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import Coupon, CouponEvent, CouponKind, CouponStatus, CouponTemplate
from rapport.loyalty.services import coupons
from rapport.loyalty.services.cart import Cart, CartItem
from rapport.loyalty.tests.factories import coupon_template

CART = Cart(
    total=Decimal("150"), items=(CartItem("TEA-1", Decimal("100"), "tea"), CartItem("CUP-1", Decimal("50"), "cups"))
)


def test_issue_respects_the_per_customer_limit_and_stock(
    member: Customer, make_customer: Callable[..., Customer], system_actor: Actor
) -> None:
    template = coupon_template(total_stock=2)
    first = coupons.issue(template, member, key="k1", actor=system_actor)
    assert coupons.issue(template, member, key="k1", actor=system_actor) == first  # idempotent
    with pytest.raises(Conflict) as limit:
        coupons.issue(template, member, key="k2", actor=system_actor)
    assert limit.value.errors[0].code == "limit_reached"
    coupons.issue(template, make_customer(), key="k1", actor=system_actor)
    with pytest.raises(Conflict) as stock:
        coupons.issue(template, make_customer(), key="k1", actor=system_actor)
    assert stock.value.errors[0].code == "out_of_stock"
    template.refresh_from_db()
    assert template.issued_count == 2
    assert first.valid_until is not None and first.valid_until - first.issued_at == timedelta(days=30)  # type: ignore[operator]


def test_generated_codes_are_unique_and_used_before_new_ones(member: Customer, system_actor: Actor) -> None:
    template = coupon_template()
    assert coupons.generate_codes(template, count=50, actor=system_actor) == 50
    assert Coupon.objects.filter(template=template).values("code").distinct().count() == 50
    issued = coupons.issue(template, member, key="k", actor=system_actor)
    assert Coupon.objects.filter(template=template).count() == 50 and issued.customer == member
    with pytest.raises(InvalidInput):
        coupons.generate_codes(template, count=0, actor=system_actor)


def test_redeem_exactly_once(member: Customer, system_actor: Actor) -> None:
    coupon = coupons.issue(coupon_template(), member, key="k", actor=system_actor)
    _, discount = coupons.redeem(coupon.code, member, CART, key="o1", order_reference="o1", actor=system_actor)
    assert discount == Decimal("20")
    assert coupons.redeem(coupon.code, member, CART, key="o1", order_reference="o1", actor=system_actor)[1] == discount
    with pytest.raises(Conflict) as caught:
        coupons.redeem(coupon.code, member, CART, key="o2", order_reference="o2", actor=system_actor)
    assert caught.value.errors[0].code == "coupon_redeemed"
    assert CouponEvent.objects.filter(coupon=coupon, kind=CouponEvent.Kind.REDEEM).count() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"threshold": Decimal("200")}, "below_threshold"),
        ({"product_skus": ["OTHER"]}, "out_of_scope"),
    ],
)
def test_coupon_rules_refuse_with_a_reason(
    member: Customer, system_actor: Actor, overrides: dict[str, object], code: str
) -> None:
    coupon = coupons.issue(coupon_template(**overrides), member, key="k", actor=system_actor)
    with pytest.raises(Conflict) as caught:
        coupons.redeem(coupon.code, member, CART, key="o1", order_reference="o1", actor=system_actor)
    assert caught.value.errors[0].code == code
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.ISSUED


def test_percent_off_is_capped_and_scoped_to_categories(member: Customer, system_actor: Actor) -> None:
    template = coupon_template(
        kind=CouponKind.PERCENT_OFF,
        amount_off=0,
        percent_off=Decimal("30"),
        max_discount=Decimal("25"),
        threshold=0,
        category_codes=["tea"],
    )
    coupon = coupons.issue(template, member, key="k", actor=system_actor)
    assert coupons.discount_for(coupon, CART) == (Decimal("25"), None)  # 30% of 100 tea = 30, capped at 25


def test_expiry_job_expires_issued_coupons_past_their_end(member: Customer, system_actor: Actor) -> None:
    coupon = coupons.issue(coupon_template(), member, key="k", actor=system_actor)
    assert coupons.expire_all(timezone.now() + timedelta(days=31)) == 1
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.EXPIRED


def test_template_validation_names_fields(db: object, system_actor: Actor) -> None:
    template = CouponTemplate(name="Broken", kind=CouponKind.PERCENT_OFF, percent_off=Decimal("150"), valid_days=0)
    with pytest.raises(InvalidInput) as caught:
        coupons.save_template(template, actor=system_actor)
    assert {e.field for e in caught.value.errors} == {"percent_off", "valid_until"}
    assert not CouponTemplate.objects.exists()
