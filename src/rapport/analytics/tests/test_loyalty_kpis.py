"""Loyalty KPIs on the real database: members by level, points and stored value, with the store
filter, written through the loyalty services as production writes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from rapport.analytics import kpis, loyalty_kpis
from rapport.analytics.tests.conftest import NOW
from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.loyalty.models import EarnRule, EarnRuleKind, ExpiryPolicy, Level, TopUpBonus
from rapport.loyalty.services import adjustments, levels, points, stored_value
from rapport.loyalty.services.program import program_settings

pytestmark = pytest.mark.django_db
TODAY = NOW.astimezone(kpis.shop_zone()).date()


def _filters(**params: str) -> kpis.Filters:
    return kpis.Filters.parse(params, today=TODAY)


@pytest.fixture
def members(
    make_customer: Callable[..., Any], place_order: Callable[..., Order], store: Any, system_actor: Actor
) -> dict[str, Any]:
    """Levels Gold and Silver; Amy (of ``store``, Gold) with three orders, Bob (Silver) with one
    order partly refunded, Dan (Gold, then down to Silver) without orders, Cai (no level) whose only
    order is older than a year. Each order earned one point per unit; points expire after 30 days."""
    program = program_settings()
    program.points_expiry = ExpiryPolicy.ROLLING_DAYS
    program.points_expiry_days = 30
    program.save()
    EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1"))
    gold = Level.objects.create(name="Gold", rank=2, threshold=Decimal("2000"))
    silver = Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"))
    amy = make_customer(name="Amy", store=store.code)
    bob = make_customer(name="Bob")
    cai = make_customer(name="Cai")
    dan = make_customer(name="Dan")
    orders = {
        "amy_old": place_order(amy, 200, "120.00"),
        "amy_recent": place_order(amy, 20, "80.00"),
        "amy_latest": place_order(amy, 5, "100.00"),
        "bob": place_order(bob, 40, "300.00"),
        "cai": place_order(cai, 400, "50.00"),
    }
    Order.objects.filter(pk=orders["bob"].pk).update(refunded_total=Decimal("100.00"))
    for order in orders.values():
        points.earn_for_order(order, actor=system_actor)
    levels.set_level(amy, level=gold, reason="VIP", actor=system_actor)
    levels.set_level(bob, level=silver, reason="VIP", actor=system_actor)
    levels.set_level(dan, level=gold, reason="VIP", actor=system_actor)
    levels.set_level(dan, level=silver, reason="Lapsed", actor=system_actor)
    return {"amy": amy, "bob": bob, "cai": cai, "dan": dan, "store": store, "orders": orders}


@pytest.fixture
def points_used(members: dict[str, Any], system_actor: Actor) -> dict[str, Any]:
    """Overdue lots expired (Amy 120, Bob 300, Cai 50); Amy redeems 50 and her latest order's 100
    are reversed (cancelled); Bob is given 20 by hand. Left: Amy 30, Bob 20, all expiring within
    30 days."""
    points.expire_all()
    points.spend(members["amy"], points=50, key="gift-1", actor=system_actor)
    points.reverse_for_cancellation(members["orders"]["amy_latest"], actor=system_actor)
    adjustments.adjust(members["bob"], asset="points", delta=20, reason="Apology", key="sorry-1", actor=system_actor)
    return members


@pytest.fixture
def stored(members: dict[str, Any], system_actor: Actor) -> dict[str, Any]:
    """Amy pays 1000 and gets 100 bonus, spends 50 (bonus first), takes 500 principal back (half her
    principal, so half her remaining bonus, 25, is forfeited); Bob pays 500 and takes 200 back."""
    TopUpBonus.objects.create(minimum=Decimal("1000"), bonus=Decimal("100"))
    amy, bob = members["amy"], members["bob"]
    stored_value.top_up(amy, amount="1000.00", key="t1", actor=system_actor)
    stored_value.spend(amy, amount="50.00", key="s1", actor=system_actor)
    stored_value.refund_principal(amy, amount="500.00", key="r1", reason="Moving away", actor=system_actor)
    stored_value.top_up(bob, amount="500.00", key="t2", actor=system_actor)
    stored_value.refund_principal(bob, amount="200.00", key="r2", reason="Changed mind", actor=system_actor)
    return members


def _level_rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["level"]: row for row in result["levels"]}


# By level ---------------------------------------------------------------------------------------


def test_members_orders_and_revenue_by_level_net_of_refunds(members: dict[str, Any]) -> None:
    rows = _level_rows(loyalty_kpis.by_level(_filters()))
    assert list(rows) == ["Gold", "Silver", "(no level)"]
    gold, silver, none = rows["Gold"], rows["Silver"], rows["(no level)"]
    assert (gold["members"], gold["active_members"], gold["orders"]) == (1, 1, 3)
    assert (gold["revenue"], gold["average_order_value"], gold["arpu"]) == (
        Decimal("300.00"),
        Decimal("100.00"),
        Decimal("300.00"),
    )
    assert gold["repurchase_rate"] == 1.0
    assert (silver["members"], silver["active_members"], silver["orders"]) == (2, 1, 1)
    assert silver["revenue"] == Decimal("200.00")  # 300 less the 100 refunded
    assert silver["repurchase_rate"] == 0.0
    assert (gold["revenue_share"], silver["revenue_share"]) == (0.6, 0.4)
    assert (none["members"], none["active_members"], none["revenue"]) == (1, 0, Decimal("0.00"))  # Cai, 400 days ago


def test_level_totals_match_the_dashboard_headline(members: dict[str, Any]) -> None:
    filters = _filters()
    rows = loyalty_kpis.by_level(filters)["levels"]
    headline = kpis.headline(filters)
    assert sum(r["orders"] for r in rows) == headline["orders"]
    assert sum(r["revenue"] for r in rows) == headline["revenue"]
    assert sum(r["active_members"] for r in rows) == headline["active_customers"]


def test_level_movements_count_ups_and_downs_by_rank(members: dict[str, Any]) -> None:
    result = loyalty_kpis.by_level(_filters())
    assert (result["upgrades"], result["downgrades"]) == (3, 1)
    pairs = {(m["from_level"], m["to_level"]): (m["direction"], m["members"]) for m in result["movements"]}
    assert pairs == {
        ("(no level)", "Gold"): ("up", 2),
        ("(no level)", "Silver"): ("up", 1),
        ("Gold", "Silver"): ("down", 1),
    }
    rows = _level_rows(result)
    assert (rows["Gold"]["moved_up_in"], rows["Gold"]["moved_out"]) == (2, 1)
    assert (rows["Silver"]["moved_up_in"], rows["Silver"]["moved_down_in"]) == (1, 1)
    assert rows["(no level)"]["moved_out"] == 3


def test_level_movements_outside_the_range_are_left_out(members: dict[str, Any]) -> None:
    result = loyalty_kpis.by_level(_filters(end=(TODAY - dt.timedelta(days=1)).isoformat()))
    assert (result["upgrades"], result["downgrades"], result["movements"]) == (0, 0, [])


def test_store_filter_keeps_the_stores_orders_and_members(members: dict[str, Any]) -> None:
    result = loyalty_kpis.by_level(_filters(store=members["store"].code))
    rows = _level_rows(result)
    assert (rows["Gold"]["members"], rows["Gold"]["orders"], rows["Gold"]["revenue"]) == (1, 3, Decimal("300.00"))
    assert (rows["Silver"]["members"], rows["Silver"]["orders"]) == (0, 0)
    assert rows["Gold"]["revenue_share"] == 1.0
    assert (result["upgrades"], result["downgrades"]) == (1, 0)


# Points -----------------------------------------------------------------------------------------


def test_points_issued_redeemed_expired_reversed_and_adjusted(points_used: dict[str, Any]) -> None:
    result = loyalty_kpis.points(_filters())
    totals = result["totals"]
    # Cai's 50 were earned 400 days ago (before the range) but expire now (in it)
    assert totals["issued"] == 120 + 80 + 100 + 300
    assert (totals["redeemed"], totals["returned"], totals["net_redeemed"]) == (50, 0, 50)
    assert totals["expired"] == 120 + 300 + 50
    assert (totals["reversed"], totals["adjusted"]) == (100, 20)
    assert totals["net_change"] == 600 - 50 - 470 - 100 + 20
    assert totals["redemption_rate"] == round(50 / 600, 4)
    assert (result["outstanding"], result["holders"]) == (50, 2)  # Amy 30, Bob 20
    assert result["outstanding_value"] == Decimal("0.50")  # 100 points to one currency unit
    assert result["expiring"] == [{"days": 30, "points": 50, "members": 2}, {"days": 90, "points": 50, "members": 2}]


def test_points_by_month_cover_the_range_and_add_up(points_used: dict[str, Any]) -> None:
    result = loyalty_kpis.points(_filters())
    months = [row["month"] for row in result["monthly"]]
    assert months[0] == f"{TODAY - dt.timedelta(days=364):%Y-%m}" and months[-1] == f"{TODAY:%Y-%m}"
    assert sum(row["issued"] for row in result["monthly"]) == result["totals"]["issued"]
    this_month = result["monthly"][-1]
    assert (this_month["redeemed"], this_month["expired"], this_month["adjusted"]) == (50, 470, 20)


def test_points_balance_at_an_earlier_range_end(points_used: dict[str, Any]) -> None:
    result = loyalty_kpis.points(_filters(end=(TODAY - dt.timedelta(days=30)).isoformat()))
    assert (result["outstanding"], result["holders"]) == (120 + 300 + 50, 3)  # nothing expired or spent yet
    assert result["totals"]["issued"] == 120 + 300


def test_points_with_a_store_count_its_orders_and_its_members_ledger(points_used: dict[str, Any]) -> None:
    result = loyalty_kpis.points(_filters(store=points_used["store"].code))
    totals = result["totals"]
    assert (totals["issued"], totals["redeemed"], totals["expired"], totals["reversed"]) == (300, 50, 120, 100)
    assert totals["adjusted"] == 0  # Bob's adjustment belongs to no store of his
    assert (result["outstanding"], result["holders"]) == (30, 1)
    assert result["expiring"][0] == {"days": 30, "points": 30, "members": 1}


# Stored value -----------------------------------------------------------------------------------


def test_stored_value_flows_and_liability(stored: dict[str, Any]) -> None:
    result = loyalty_kpis.stored_value(_filters())
    totals = result["totals"]
    assert (totals["top_ups"], totals["bonus_granted"]) == (Decimal("1500.00"), Decimal("100.00"))
    assert (totals["spent"], totals["spent_bonus"], totals["spent_principal"]) == (
        Decimal("50.00"),
        Decimal("50.00"),
        Decimal("0.00"),
    )
    assert (totals["withdrawn"], totals["forfeited"]) == (Decimal("700.00"), Decimal("25.00"))
    assert result["outstanding_principal"] == Decimal("800.00")  # Amy 500, Bob 300
    assert result["outstanding_bonus"] == Decimal("25.00")
    assert result["outstanding_total"] == Decimal("825.00")
    assert (result["funded_accounts"], result["members_topping_up"]) == (2, 2)
    assert result["monthly"][-1]["top_ups"] == Decimal("1500.00")


def test_stored_value_for_one_store_and_before_any_top_up(stored: dict[str, Any]) -> None:
    mine = loyalty_kpis.stored_value(_filters(store=stored["store"].code))
    assert (mine["totals"]["top_ups"], mine["totals"]["withdrawn"]) == (Decimal("1000.00"), Decimal("500.00"))
    assert (mine["outstanding_principal"], mine["outstanding_bonus"], mine["funded_accounts"]) == (
        Decimal("500.00"),
        Decimal("25.00"),
        1,
    )
    earlier = loyalty_kpis.stored_value(_filters(end=(TODAY - dt.timedelta(days=1)).isoformat()))
    assert (earlier["outstanding_total"], earlier["funded_accounts"]) == (Decimal("0.00"), 0)


def test_loyalty_dashboard_has_every_part_and_no_negative_zero(stored: dict[str, Any]) -> None:
    data = loyalty_kpis.loyalty_dashboard(_filters())
    assert set(data) == {"filters", "by_level", "points", "stored_value"}
    first_month = data["stored_value"]["monthly"][0]
    assert str(first_month["spent"]) == "0.00" and str(first_month["withdrawn"]) == "0.00"
