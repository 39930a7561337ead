from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.customers.merge import merge_customers
from rapport.customers.models import Customer
from rapport.loyalty.models import (
    Account,
    Asset,
    BenefitCard,
    CardType,
    Coupon,
    EarnRule,
    Entry,
    Level,
    LevelChange,
    Membership,
)
from rapport.loyalty.services import cards, checkout, coupons, points, stored_value
from rapport.loyalty.services import levels as level_services
from rapport.loyalty.tests.factories import coupon_template


def test_upgrade_is_immediate_and_recorded(
    member: Customer, levels: list[Level], place_order: Callable[..., Order]
) -> None:
    place_order(member, "600.00")
    assert Membership.objects.get(customer=member).level == levels[0]
    place_order(member, "1500.00")
    membership = Membership.objects.get(customer=member)
    assert membership.level == levels[1] and membership.growth == Decimal("2100.00")
    assert [c.reason for c in LevelChange.objects.filter(customer=member)] == ["upgrade", "upgrade"]


def test_review_downgrades_below_the_keep_threshold_only(
    member: Customer, make_customer: Callable[..., Customer], levels: list[Level], system_actor: Actor
) -> None:
    another = make_customer()
    for customer, growth in ((member, "1000"), (another, "1600")):
        Membership.objects.create(customer=customer, level=levels[1], growth=Decimal(growth))
    counts = level_services.review_all(actor=system_actor)
    assert Membership.objects.get(customer=member).level is None  # no orders at all in the window
    assert counts["downgraded"] == 2


def test_review_keeps_a_level_between_keep_and_reach(
    member: Customer, levels: list[Level], place_order: Callable[..., Order], system_actor: Actor
) -> None:
    place_order(member, "2000.00")
    Order.objects.filter(customer=member).update(refunded_total=Decimal("400"))  # growth 1600: keeps Gold
    assert level_services.review_all(actor=system_actor)["kept"] == 1
    assert Membership.objects.get(customer=member).level == levels[1]


def test_card_renewal_extends_from_its_end_and_issues_its_coupon(member: Customer, system_actor: Actor) -> None:
    template = coupon_template(per_customer_limit=0)
    card_type = CardType.objects.create(
        name="Plus", price=Decimal("99"), validity_days=30, points_multiplier=Decimal("3"), welcome_coupon=template
    )
    card = cards.grant(card_type, member, key="buy-1", actor=system_actor)
    first_end = card.ends_at
    renewed = cards.grant(card_type, member, key="buy-2", actor=system_actor)
    assert renewed.ends_at == first_end + timedelta(days=30)
    assert cards.grant(card_type, member, key="buy-2", actor=system_actor).ends_at == renewed.ends_at
    assert Coupon.objects.filter(customer=member).count() == 2
    assert level_services.earning_multiplier(member.pk) == Decimal("3")
    assert level_services.earning_multiplier(member.pk, at=timezone.now() + timedelta(days=61)) == Decimal("1")


def test_merge_moves_every_asset_without_doubling(
    member: Customer,
    make_customer: Callable[..., Customer],
    earn_rule: EarnRule,
    levels: list[Level],
    place_order: Callable[..., Order],
    system_actor: Actor,
) -> None:
    other = make_customer(name="Wang F.")
    place_order(other, "700.00")
    points.award(member, points=100, key="gift", actor=system_actor)
    stored_value.top_up(other, amount="50", key="t", actor=system_actor)
    coupons.issue(coupon_template(), other, key="k", actor=system_actor)
    cards.grant(CardType.objects.create(name="Free"), other, key="c", actor=system_actor)
    checkout.redeem(other, checkout.Cart(total=Decimal("100")), key="r", order_reference="x", actor=system_actor)
    entries_before = Entry.objects.count()
    merge_customers(member, other, actor=system_actor, reason="same person")
    assert dict(Account.objects.filter(customer=member).values_list("asset", "balance")) == {
        Asset.POINTS: Decimal("800"),
        Asset.PRINCIPAL: Decimal("50"),
        Asset.BONUS: Decimal("0"),
    }
    assert Entry.objects.count() == entries_before
    assert Coupon.objects.filter(customer=member).count() == 1
    assert BenefitCard.objects.filter(customer=member).count() == 1
    assert Membership.objects.get(customer=member).level == levels[0]
    assert not Account.objects.filter(customer_id=other.pk).exists()


def test_birthday_gift_once_a_year_on_the_members_level(
    make_customer: Callable[..., Customer], levels: list[Level], system_actor: Actor
) -> None:
    from datetime import date

    Level.objects.filter(pk=levels[1].pk).update(birthday_points=300)
    born = make_customer(birthday="1990-06-18")
    leapling = make_customer(birthday="1992-02-29")
    for customer in (born, leapling):
        Membership.objects.create(customer=customer, level=levels[1])
    assert level_services.award_birthday_gifts(today=date(2026, 6, 18), actor=system_actor) == 1
    level_services.award_birthday_gifts(today=date(2026, 6, 18), actor=system_actor)  # the job ran twice
    assert Account.objects.get(customer=born, asset=Asset.POINTS).balance == Decimal("300")
    assert level_services.award_birthday_gifts(today=date(2027, 2, 28), actor=system_actor) == 1


def test_a_card_is_given_to_a_customer_who_already_holds_its_coupon_up_to_the_limit(
    member: Customer, system_actor: Actor
) -> None:
    welcome = coupon_template(per_customer_limit=2)
    for key in ("a", "b"):
        coupons.issue(welcome, member, key=key, actor=system_actor)
    plus = CardType.objects.create(name="Tea Club Plus", price=Decimal("99"), validity_days=365, welcome_coupon=welcome)

    card = cards.grant(plus, member, key="sell", actor=system_actor)

    assert card.card_type == plus
    assert Coupon.objects.filter(customer=member, template=welcome).count() == 3  # the card's coupon came with it
