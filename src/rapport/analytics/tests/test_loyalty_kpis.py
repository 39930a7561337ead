"""Loyalty KPIs on the real database: members by level, points and stored value, with the store
filter, written through the loyalty services as production writes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from rapport.analytics import kpis, loyalty_kpis
from rapport.analytics.tests.conftest import NOW

pytestmark = pytest.mark.django_db
TODAY = NOW.astimezone(kpis.shop_zone()).date()


def _filters(**params: str) -> kpis.Filters:
    return kpis.Filters.parse(params, today=TODAY)


def _level_rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["level"]: row for row in result["levels"]}


# By level ---------------------------------------------------------------------------------------


def test_members_orders_and_revenue_by_level_net_of_refunds(loyalty_members: dict[str, Any]) -> None:
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


def test_level_totals_match_the_dashboard_headline(loyalty_members: dict[str, Any]) -> None:
    filters = _filters()
    rows = loyalty_kpis.by_level(filters)["levels"]
    headline = kpis.headline(filters)
    assert sum(r["orders"] for r in rows) == headline["orders"]
    assert sum(r["revenue"] for r in rows) == headline["revenue"]
    assert sum(r["active_members"] for r in rows) == headline["active_customers"]


def test_level_movements_count_ups_and_downs_by_rank(loyalty_members: dict[str, Any]) -> None:
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


def test_level_movements_outside_the_range_are_left_out(loyalty_members: dict[str, Any]) -> None:
    result = loyalty_kpis.by_level(_filters(end=(TODAY - dt.timedelta(days=1)).isoformat()))
    assert (result["upgrades"], result["downgrades"], result["movements"]) == (0, 0, [])


def test_store_filter_keeps_the_stores_orders_and_members(loyalty_members: dict[str, Any]) -> None:
    result = loyalty_kpis.by_level(_filters(store=loyalty_members["store"].code))
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


def test_stored_value_flows_and_liability(stored_value_used: dict[str, Any]) -> None:
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


def test_stored_value_for_one_store_and_before_any_top_up(stored_value_used: dict[str, Any]) -> None:
    mine = loyalty_kpis.stored_value(_filters(store=stored_value_used["store"].code))
    assert (mine["totals"]["top_ups"], mine["totals"]["withdrawn"]) == (Decimal("1000.00"), Decimal("500.00"))
    assert (mine["outstanding_principal"], mine["outstanding_bonus"], mine["funded_accounts"]) == (
        Decimal("500.00"),
        Decimal("25.00"),
        1,
    )
    earlier = loyalty_kpis.stored_value(_filters(end=(TODAY - dt.timedelta(days=1)).isoformat()))
    assert (earlier["outstanding_total"], earlier["funded_accounts"]) == (Decimal("0.00"), 0)


def test_loyalty_dashboard_has_every_part_and_no_negative_zero(stored_value_used: dict[str, Any]) -> None:
    data = loyalty_kpis.loyalty_dashboard(_filters())
    assert set(data) == {"filters", "by_level", "points", "stored_value"}
    first_month = data["stored_value"]["monthly"][0]
    assert str(first_month["spent"]) == "0.00" and str(first_month["withdrawn"]) == "0.00"


def test_the_loyalty_figures_take_a_fixed_number_of_queries(
    stored_value_used: dict[str, Any], django_assert_num_queries: Any
) -> None:
    filters = _filters()
    with django_assert_num_queries(14):  # every figure is one aggregation, whatever the number of members
        loyalty_kpis.loyalty_dashboard(filters)
