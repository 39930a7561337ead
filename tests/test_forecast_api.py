"""The forecast endpoint and the stock plan in the stock bodies: a product's weekly forecast with
its intervals, the class, reorder point and days of cover of each item; bad input names its
field (422), unknown SKUs and products without a forecast answer 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.inventory import planning
from rapport.inventory import services as inventory

pytestmark = pytest.mark.django_db


@pytest.fixture
def forecast_shop(make_customer, system_actor):
    customer = make_customer()
    now = timezone.now()
    tea = commerce.upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88"}, actor=system_actor)[0]
    commerce.upsert_product(data={"sku": "CUP-1", "name": "Cup", "price": "9"}, actor=system_actor)
    for week in range(1, 30):
        commerce.upsert_order(
            data={
                "channel": "web",
                "external_id": f"o-{week}",
                "customer_id": customer.pk,
                "status": "paid",
                "placed_at": (now - dt.timedelta(weeks=week)).isoformat(),
                "lines": [{"sku": "TEA-1", "quantity": 4 + week % 2, "unit_price": "88"}],
            },
            actor=system_actor,
        )
    inventory.record_movement(tea, inventory.default_location(), data={"quantity": 30}, actor=system_actor)
    planning.refresh_forecasts(now=now, backtest=False)
    return tea


def test_a_products_forecast_and_its_stock_plan(admin_api, forecast_shop):
    body = admin_api.get("/api/v1/products/TEA-1/forecast").json()
    assert body["frequency"] == "week" and len(body["periods"]) == planning.HORIZON_WEEKS
    first = body["periods"][0]
    assert first["lo95"] <= first["lo80"] <= first["mean"] <= first["hi80"] <= first["hi95"]
    assert first["mean"] == pytest.approx(4.5, abs=1.5)
    item = admin_api.get("/api/v1/products/TEA-1/stock").json()["locations"][0]
    assert item["abc"] == "A" and item["reorder_point"] >= item["safety_stock"] > 0
    assert item["days_of_cover"] == pytest.approx(30 / (item["weekly_demand"] / 7), rel=0.01)
    daily = admin_api.get("/api/v1/products/TEA-1/forecast", {"frequency": "day"}).json()
    assert daily["frequency"] == "day" and len(daily["periods"]) == planning.HORIZON_DAYS
    assert all(p["lo95"] <= p["mean"] <= p["hi95"] for p in daily["periods"])
    assert dt.date.fromisoformat(daily["periods"][1]["start"]) - dt.date.fromisoformat(
        daily["periods"][0]["start"]
    ) == (dt.timedelta(days=1))
    listed = admin_api.get("/api/v1/stock", {"abc": "A"}).json()
    assert [r["sku"] for r in listed["results"]] == ["TEA-1"]


def test_forecast_bad_input_and_not_found(admin_api, forecast_shop, system_actor):
    bad = admin_api.get("/api/v1/products/TEA-1/forecast", {"frequency": "month"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "frequency"
    assert admin_api.get("/api/v1/products/NOPE/forecast").status_code == 404
    commerce.upsert_product(data={"sku": "NEW-1", "name": "Added after the run", "price": "9"}, actor=system_actor)
    missing = admin_api.get("/api/v1/products/NEW-1/forecast", {"frequency": "day"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "no_forecast"
    wrong_class = admin_api.get("/api/v1/stock", {"abc": "D", "xyz": "Q"})
    assert wrong_class.status_code == 422
    assert {e["field"] for e in wrong_class.json()["errors"]} == {"abc", "xyz"}


def test_forecast_needs_the_inventory_read_scope(api_client_for, admin_user, forecast_shop):
    from rapport.accounts.scopes import COMMERCE_READ

    assert api_client_for(admin_user, scopes=[COMMERCE_READ]).get("/api/v1/products/TEA-1/forecast").status_code == 403
