"""The forecast and ABC/XYZ pages: a planner looks at a product's forecast chart with its
intervals, at the class matrix, and at the stock list's reorder point and days of cover, in
English and Chinese, on a desktop and on a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.commerce import services as commerce
from rapport.inventory import planning, services
from rapport.testing.browser import switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def forecast_shop(make_customer, system_actor):
    customer = make_customer()
    now = timezone.now()
    for sku, weekly in (("TEA-1", 6), ("COF-1", 1)):
        commerce.upsert_product(data={"sku": sku, "name": f"Tea {sku}", "price": "10"}, actor=system_actor)
        for week in range(1, 40):
            placed = now - dt.timedelta(weeks=week)
            commerce.upsert_order(
                data={
                    "channel": "web",
                    "external_id": f"{sku}-{week}",
                    "customer_id": customer.pk,
                    "status": "paid",
                    "placed_at": placed.isoformat(),
                    "lines": [{"sku": sku, "quantity": weekly + week % 2, "unit_price": "10"}],
                },
                actor=system_actor,
            )
    tea = commerce.upsert_product(data={"sku": "TEA-1", "name": "Tea TEA-1", "price": "10"}, actor=system_actor)[0]
    services.record_movement(tea, services.default_location(), data={"quantity": 3}, actor=system_actor)
    planning.refresh_forecasts(now=now, backtest=False)


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_product_forecast_chart_matrix_and_stock_plan(page, sign_in, make_staff, forecast_shop, viewport):
    make_staff(roles.OPERATOR, username="planner")
    page.set_viewport_size(viewport)
    sign_in("planner")

    page.goto("/stock/forecast/")
    page.select_option("#f-scope", "product")
    page.fill("#f-sku", "TEA-1")
    page.click("#forecast-filters button[type=submit]")
    page.wait_for_selector("#forecast-chart svg polyline.forecast")
    assert page.locator("#forecast-chart svg polyline.history").count() == 1
    assert page.locator("#forecast-chart svg polygon.band95").count() == 1
    assert page.locator("#forecast-table tbody tr").count() == planning.HORIZON_WEEKS
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.select_option("#f-frequency", "day")  # the same product by day
    page.click("#forecast-filters button[type=submit]")
    page.wait_for_selector("#forecast-chart svg polygon.band95")
    assert page.locator("#forecast-table tbody tr").count() == planning.HORIZON_DAYS
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.fill("#f-sku", "NOPE")
    page.click("#forecast-filters button[type=submit]")
    assert "sku" in page.inner_text("[role=alert]")

    page.goto("/stock/classes/")
    assert "A" in page.inner_text("#class-matrix")
    page.click("#class-matrix a >> nth=0")
    page.wait_for_url("**/stock/?abc=A**")

    page.goto("/stock/?status=low")
    row = page.inner_text("#stock-table tbody")
    assert "TEA-1" in row and "COF-1" not in row
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    switch_language(page, "zh-hans")
    page.goto("/stock/forecast/?scope=product&sku=TEA-1")
    assert page.inner_text("h1") == "销售预测"
    assert "预测" in page.inner_text("#forecast-table thead")
    page.goto("/stock/classes/")
    assert "ABC/XYZ" in page.inner_text("h1")
