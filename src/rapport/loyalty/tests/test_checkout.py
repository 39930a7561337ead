from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from rapport.commerce import services as commerce
from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, CouponStatus, Level, Redemption
from rapport.loyalty.services import checkout, coupons, points, stored_value
from rapport.loyalty.services.cart import Cart
from rapport.loyalty.tests.factories import coupon_template


@pytest.fixture
def wallet(member: Customer, system_actor: Actor, no_expiry: None) -> Customer:
    points.award(member, points=5000, key="gift", actor=system_actor)
    stored_value.top_up(member, amount="200", key="t1", actor=system_actor)
    coupons.issue(coupon_template(), member, key="k", actor=system_actor)
    return member


def _balances(customer: Customer) -> dict[str, Decimal]:
    return dict(Account.objects.filter(customer=customer).values_list("asset", "balance"))


def test_quote_shows_what_each_asset_can_do(wallet: Customer) -> None:
    quote = checkout.quote(wallet, Cart(total=Decimal("300")))
    assert quote["coupons"][0].applicable and quote["coupons"][0].discount == Decimal("20")
    assert quote["points"]["max_usable"] == 5000  # 140 = 50% of 280 would allow 14,000; balance limits
    assert quote["stored_value"]["total"] == Decimal("200")


def test_redeem_uses_everything_together_once(wallet: Customer, system_actor: Actor) -> None:
    coupon_code = wallet.coupons.get().code  # type: ignore[attr-defined]
    cart = Cart(total=Decimal("300"))
    redemption = checkout.redeem(
        wallet,
        cart,
        key="o-1",
        order_reference="o-1",
        actor=system_actor,
        points=5000,
        coupon_code=coupon_code,
        stored_value_amount=Decimal("100"),
    )
    assert (redemption.coupon_discount, redemption.points_value, redemption.amount_due) == (
        Decimal("20"),
        Decimal("50"),
        Decimal("130"),
    )
    again = checkout.redeem(
        wallet,
        cart,
        key="o-1",
        order_reference="o-1",
        actor=system_actor,
        points=5000,
        coupon_code=coupon_code,
        stored_value_amount=Decimal("100"),
    )
    assert again == redemption
    assert _balances(wallet) == {Asset.POINTS: 0, Asset.PRINCIPAL: Decimal("100"), Asset.BONUS: 0}


def test_a_failing_part_leaves_every_asset_untouched(wallet: Customer, system_actor: Actor) -> None:
    coupon_code = wallet.coupons.get().code  # type: ignore[attr-defined]
    before = _balances(wallet)
    with pytest.raises(Conflict) as caught:
        checkout.redeem(
            wallet,
            Cart(total=Decimal("300")),
            key="o-1",
            order_reference="o-1",
            actor=system_actor,
            points=1000,
            coupon_code=coupon_code,
            stored_value_amount=Decimal("500"),
        )
    assert caught.value.errors[0].field == "stored_value"
    assert _balances(wallet) == before
    assert wallet.coupons.get().status == CouponStatus.ISSUED  # type: ignore[attr-defined]
    assert not Redemption.objects.exists()


def test_points_are_limited_to_the_programme_share(wallet: Customer, system_actor: Actor) -> None:
    with pytest.raises(Conflict) as caught:
        checkout.redeem(
            wallet, Cart(total=Decimal("60")), key="o", order_reference="o", actor=system_actor, points=5000
        )
    assert caught.value.errors[0].code == "over_limit"  # at most 30.00 of 60.00 → 3000 points


def test_reverse_gives_everything_back_once(wallet: Customer, system_actor: Actor) -> None:
    coupon_code = wallet.coupons.get().code  # type: ignore[attr-defined]
    before = _balances(wallet)
    redemption = checkout.redeem(
        wallet,
        Cart(total=Decimal("300")),
        key="o-1",
        order_reference="o-1",
        actor=system_actor,
        points=4000,
        coupon_code=coupon_code,
        stored_value_amount=Decimal("150"),
    )
    checkout.reverse(redemption, actor=system_actor)
    checkout.reverse(redemption, actor=system_actor)
    assert _balances(wallet) == before
    assert wallet.coupons.get().status == CouponStatus.ISSUED  # type: ignore[attr-defined]


def test_cancelling_the_order_reverses_its_checkout(
    wallet: Customer, system_actor: Actor, place_order: Callable[..., Order]
) -> None:
    order = place_order(wallet, "300.00", external_id="shop-9")
    checkout.redeem(
        wallet, Cart(total=Decimal("300")), key="shop-9", order_reference="shop-9", actor=system_actor, points=1000
    )
    commerce.set_order_status(order, status="cancelled", actor=system_actor)
    assert Redemption.objects.get().status == Redemption.Status.REVERSED
    assert _balances(wallet)[Asset.POINTS] == Decimal("5000")


def test_member_discount_comes_first(wallet: Customer, levels: list[Level], system_actor: Actor) -> None:
    from rapport.loyalty.services import levels as level_services

    level_services.set_level(wallet, level=levels[1], reason="VIP", actor=system_actor)
    quote = checkout.quote(wallet, Cart(total=Decimal("200")))
    assert quote["member_discount"]["amount"] == Decimal("10.00") and quote["free_shipping"]
