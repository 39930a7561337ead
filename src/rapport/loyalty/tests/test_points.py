from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, EarnRule, EarnRuleKind, Entry, EntryKind, Level, Rounding
from rapport.loyalty.services import points
from rapport.loyalty.services.program import program_settings


def _points(customer: Customer) -> Decimal:
    account = Account.objects.filter(customer=customer, asset=Asset.POINTS).first()
    return account.balance if account else Decimal(0)


def test_a_paid_order_earns_once(member: Customer, earn_rule: EarnRule, place_order: Callable[..., Order]) -> None:
    order = place_order(member, "128.90", external_id="o-earn")
    assert _points(member) == Decimal("128")
    place_order(member, "128.90", external_id="o-earn")  # the same order again (import retry)
    assert _points(member) == Decimal("128")
    assert Entry.objects.get(order=order).kind == EntryKind.EARN


def test_a_pending_order_earns_when_it_is_paid(
    member: Customer, earn_rule: EarnRule, place_order: Callable[..., Order], system_actor: Actor
) -> None:
    order = place_order(member, "100.00", status="pending")
    assert _points(member) == 0
    commerce.set_order_status(order, status="paid", actor=system_actor)
    assert _points(member) == Decimal("100")


def test_rounding_rules_apply(member: Customer, place_order: Callable[..., Order]) -> None:
    EarnRule.objects.create(
        name="Half up", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1.5"), rounding=Rounding.HALF_UP
    )
    place_order(member, "9.00")  # 13.5 → 14
    assert _points(member) == Decimal("14")


def test_level_multiplier_and_campaign_bonus_stack(
    member: Customer, earn_rule: EarnRule, levels: list[Level], place_order: Callable[..., Order]
) -> None:
    place_order(member, "2000.00")  # reaches Gold at once
    assert member.membership.level == levels[1]  # type: ignore[attr-defined]
    EarnRule.objects.create(name="Double week", kind=EarnRuleKind.CAMPAIGN, multiplier=Decimal("2"), bonus_points=50)
    before = _points(member)
    place_order(member, "100.00")
    assert _points(member) - before == Decimal("100") * 2 * 2 + 50


def test_partial_refunds_reverse_proportionally_and_a_full_refund_reverses_all(
    member: Customer, earn_rule: EarnRule, place_order: Callable[..., Order], system_actor: Actor
) -> None:
    order = place_order(member, "300.00")
    commerce.record_refund(order, external_id="r1", amount="100.00", actor=system_actor)
    assert _points(member) == Decimal("200")
    commerce.record_refund(order, external_id="r1", amount="100.00", actor=system_actor)  # retried
    assert _points(member) == Decimal("200")
    commerce.record_refund(order, external_id="r2", amount="200.00", actor=system_actor)
    assert _points(member) == 0
    reversed_total = sum(e.amount for e in Entry.objects.filter(order=order, kind=EntryKind.REVERSE))
    assert reversed_total == Decimal("-300")


def test_a_refund_never_drives_the_balance_negative(
    member: Customer, earn_rule: EarnRule, place_order: Callable[..., Order], system_actor: Actor
) -> None:
    order = place_order(member, "100.00")
    points.spend(member, points=80, key="gift", actor=system_actor)
    commerce.record_refund(order, external_id="r1", amount="100.00", actor=system_actor)
    assert _points(member) == 0
    reversal = Entry.objects.get(order=order, kind=EntryKind.REVERSE)
    assert reversal.amount == Decimal("-20") and "80" in reversal.reason


def test_cancelling_a_paid_order_reverses_its_points(
    member: Customer, earn_rule: EarnRule, place_order: Callable[..., Order], system_actor: Actor
) -> None:
    order = place_order(member, "100.00")
    commerce.set_order_status(order, status="cancelled", actor=system_actor)
    assert _points(member) == 0


def test_points_expire_at_the_end_of_the_following_year(db: object) -> None:
    earned = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.get_default_timezone())
    expires = points.expiry_for(earned)
    assert expires is not None
    local = timezone.localtime(expires, timezone.get_default_timezone())
    assert (local.year, local.month, local.day) == (2026, 12, 31)
    program = program_settings()
    program.points_expiry, program.points_expiry_days = "rolling_days", 90
    program.save()
    assert points.expiry_for(earned) == earned + timezone.timedelta(days=90)


def test_event_rule_awards_within_the_daily_limit(member: Customer, system_actor: Actor) -> None:
    from types import SimpleNamespace

    EarnRule.objects.create(
        name="Check-in", kind=EarnRuleKind.PER_EVENT, event_name="check_in", points=5, daily_limit=1
    )
    now = timezone.now()
    messages = [
        SimpleNamespace(name="check_in", customer_id=member.pk, message_id=f"m{i}", timestamp=now) for i in range(3)
    ]
    assert points.earn_for_events(messages, actor=system_actor) == 1
    assert points.earn_for_events(messages[:1], actor=system_actor) == 0
    assert _points(member) == Decimal("5")
