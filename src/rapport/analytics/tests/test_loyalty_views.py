"""The Analytics → Loyalty console page through the Django test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.accounts import roles

pytestmark = pytest.mark.django_db
URL = "/analytics/loyalty/"


def test_loyalty_page_shows_levels_points_stored_value_and_charts(
    stored_value_used: dict[str, Any], signed_in: Callable[..., Any]
) -> None:
    client, _user = signed_in(roles.ANALYST)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("chart-level-revenue", "chart-level-members", "chart-points", "chart-stored-value"):
        assert f'id="{chart}"' in html
    assert "vendor/plotly.min.js" in html and "cdn.plot.ly" not in html
    assert 'id="kpi-points-issued">600<' in html
    assert 'id="kpi-sv-principal">800.00<' in html
    assert 'id="kpi-sv-funded">2<' in html
    assert "Gold" in html and "Silver" in html


def test_loyalty_page_filters_by_store_and_shows_bad_input(
    stored_value_used: dict[str, Any], signed_in: Callable[..., Any]
) -> None:
    client, _user = signed_in(roles.OPERATOR)
    mine = client.get(URL, {"store": stored_value_used["store"].code}).content.decode()
    assert 'id="kpi-points-issued">300<' in mine
    assert 'id="kpi-sv-principal">500.00<' in mine
    bad = client.get(URL, {"end": "2025-02-30"}).content.decode()
    assert 'id="form-errors"' in bad and "expected a date" in bad
    assert 'id="kpi-points-issued">600<' in bad  # the default range


def test_dashboard_links_to_the_loyalty_page_with_its_filters(
    shop: dict[str, Any], signed_in: Callable[..., Any]
) -> None:
    client, _user = signed_in(roles.ANALYST)
    html = client.get("/analytics/", {"store": shop["store"].code}).content.decode()
    assert 'href="/analytics/loyalty/?start=' in html and f"store={shop['store'].code}" in html


def test_sales_staff_may_not_open_the_loyalty_page(db: Any, signed_in: Callable[..., Any]) -> None:
    client, _user = signed_in(roles.SALES)
    assert client.get(URL).status_code == 403
