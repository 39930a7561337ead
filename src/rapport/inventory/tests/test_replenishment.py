"""ABC/XYZ classes, safety stock and reorder points, and low-stock warnings raised once per
shortage and emailed to the responsible staff."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core import mail
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.services import create_staff_user
from rapport.commerce import services as commerce
from rapport.inventory import alerts, planning, replenishment, services
from rapport.inventory.models import LowStockAlert, ProductClass, SalesForecast, StockPlan
from rapport.inventory.queries import stock_items


def test_abc_classes_follow_cumulative_revenue_share():
    revenue = {1: Decimal(500), 2: Decimal(300), 3: Decimal(100), 4: Decimal(60), 5: Decimal(40), 6: Decimal(0)}
    classes = replenishment.abc_classes(revenue)
    # 1 starts at 0 % and 2 at 50 %: both A; 3 starts at 80 %: B; 4 at 90 %: B; 5 at 96 %: C
    assert {k: v[0] for k, v in classes.items()} == {1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C"}
    assert classes[1][1] == pytest.approx(0.5)
    assert sum(share for _cls, share in classes.values()) == pytest.approx(1.0)


def test_xyz_classes_follow_the_variability_of_weekly_demand():
    assert replenishment.xyz_class(replenishment.demand_cv(np.full(52, 10.0))) == "X"
    assert replenishment.xyz_class(replenishment.demand_cv(np.array([5.0, 15.0] * 26))) == "X"
    assert replenishment.xyz_class(replenishment.demand_cv(np.array([0.0, 20.0] * 26))) == "Y"
    assert replenishment.xyz_class(replenishment.demand_cv(np.array([0.0, 0.0, 0.0, 40.0] * 13))) == "Z"
    assert replenishment.xyz_class(replenishment.demand_cv(np.zeros(52))) == "Z"


def test_safety_stock_and_reorder_point_by_hand():
    # z(95 %) = 1.645; σ = 10 a week; 14 days of lead time = 2 weeks: 1.645 × 10 × √2 = 23.26
    safety = replenishment.safety_stock(10.0, 14, 0.95)
    assert safety == pytest.approx(1.6449 * 10 * 2**0.5, rel=1e-3)
    assert replenishment.reorder_point(70.0, 14, safety) == pytest.approx(140 + safety)
    assert replenishment.safety_stock(10.0, 14, 0.99) > safety
    assert replenishment.safety_stock(10.0, 0, 0.95) == 0


@pytest.fixture
def tea(system_actor):
    return commerce.upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88"}, actor=system_actor)[0]


@pytest.fixture
def keeper(system_actor):
    return create_staff_user(
        username="keeper", password="x-Pass-12345", role=roles.ADMIN, actor=system_actor, email="keeper@shop.example"
    )


def _plan(item, reorder_point):
    StockPlan.objects.update_or_create(
        item=item, defaults={"reorder_point": reorder_point, "weekly_demand": 7.0, "computed_at": timezone.now()}
    )


@pytest.mark.django_db(transaction=True)
def test_a_low_stock_warning_is_raised_once_until_the_level_recovers(tea, keeper, system_actor):
    warehouse = services.default_location()
    item = services.record_movement(tea, warehouse, data={"kind": "receipt", "quantity": 20}, actor=system_actor)
    _plan(item, 10)
    services.record_movement(tea, warehouse, data={"quantity": -12}, actor=system_actor)  # 8: low
    services.record_movement(tea, warehouse, data={"quantity": -3}, actor=system_actor)  # 5: still low
    alerts.check_low_stock()  # the nightly check finds it open already
    assert LowStockAlert.objects.filter(closed_at=None).count() == 1
    warnings = [m for m in mail.outbox if "库存预警" in m.subject]
    assert len(warnings) == 1 and warnings[0].to == ["keeper@shop.example"]
    assert "TEA-1" in warnings[0].body

    services.record_movement(tea, warehouse, data={"kind": "receipt", "quantity": 30}, actor=system_actor)  # 35
    assert LowStockAlert.objects.get().closed_at is not None
    services.record_movement(tea, warehouse, data={"kind": "count", "quantity": 2}, actor=system_actor)  # low again
    assert LowStockAlert.objects.count() == 2
    assert len([m for m in mail.outbox if "库存预警" in m.subject]) == 2


@pytest.mark.django_db
def test_items_without_a_plan_raise_no_warning(tea, system_actor):
    services.record_movement(tea, services.default_location(), data={"quantity": 1}, actor=system_actor)
    assert alerts.check_low_stock() == []


@pytest.mark.django_db
def test_the_forecast_run_writes_forecasts_classes_plans_and_backtest(tea, make_customer, system_actor):
    commerce.upsert_product(data={"sku": "COF-1", "name": "Coffee", "price": "20"}, actor=system_actor)[0]
    customer = make_customer()
    today = dt.date(2026, 12, 7)
    for week in range(1, 60):
        day = today - dt.timedelta(weeks=week)
        for sku, quantity in (("TEA-1", 3 + week % 3), ("COF-1", 1)):
            commerce.upsert_order(
                data={
                    "channel": "web",
                    "external_id": f"{sku}-{week}",
                    "customer_id": customer.pk,
                    "status": "paid",
                    "placed_at": f"{day.isoformat()}T10:00:00+08:00",
                    "lines": [{"sku": sku, "quantity": quantity, "unit_price": "10"}],
                },
                actor=system_actor,
            )
    services.record_movement(tea, services.default_location(), data={"quantity": 5}, actor=system_actor)
    run = planning.refresh_forecasts(now=dt.datetime(2026, 12, 7, 2, tzinfo=dt.UTC))
    weekly = SalesForecast.objects.get(scope="product", key=tea.pk, frequency="week")
    assert len(weekly.values["mean"]) == planning.HORIZON_WEEKS and weekly.first_period == dt.date(2026, 12, 7)
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(weekly.values["lo95"], weekly.values["mean"], weekly.values["hi95"], strict=True)
    )
    assert weekly.values["mean"][0] == pytest.approx(4, abs=1.5)
    assert SalesForecast.objects.filter(scope="shop", frequency="day").exists()
    daily = SalesForecast.objects.get(scope="product", key=tea.pk, frequency="day")
    assert len(daily.values["mean"]) == planning.HORIZON_DAYS and daily.first_period == dt.date(2026, 12, 7)
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(daily.values["lo80"], daily.values["mean"], daily.values["hi80"], strict=True)
    )
    assert sum(daily.values["mean"][:7]) == pytest.approx(weekly.values["mean"][0], rel=0.5)  # one sale a week
    assert ProductClass.objects.get(product=tea).abc == "A"
    plan = StockPlan.objects.get(item__product=tea)
    assert plan.reorder_point >= plan.safety_stock > 0
    row = stock_items({"status": "low"}).get()
    assert row.product == tea and row.days_of_cover == pytest.approx(5 / (plan.weekly_demand / 7))
    assert "(shop)" in run.backtest and "seasonal_naive" in run.backtest["(shop)"]
