"""``GET /api/v1/analytics/loyalty``: the loyalty figures as JSON, filters, permissions, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.accounts.scopes import ANALYTICS_READ, CUSTOMERS_READ

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/loyalty"


@pytest.fixture
def analyst_api(make_staff: Callable[..., Any], api_client_for: Callable[..., Client]) -> Client:
    return api_client_for(make_staff(roles.ANALYST, username="ana"), [ANALYTICS_READ])


def test_loyalty_figures_for_every_store(stored_value_used: dict[str, Any], analyst_api: Client) -> None:
    response = analyst_api.get(URL)
    assert response.status_code == 200
    body = response.json()
    levels = {row["level"]: row for row in body["by_level"]["levels"]}
    assert levels["Gold"]["revenue"] == "300.00"
    assert levels["Silver"]["revenue"] == "200.00"
    assert levels["Gold"]["repurchase_rate"] == 1.0
    assert body["by_level"]["upgrades"] == 3
    assert body["points"]["totals"]["issued"] == 600
    assert body["stored_value"]["outstanding_principal"] == "800.00"
    assert body["stored_value"]["totals"]["forfeited"] == "25.00"
    assert body["filters"]["store"] == ""


def test_loyalty_figures_for_one_store_and_range(stored_value_used: dict[str, Any], analyst_api: Client) -> None:
    store = stored_value_used["store"].code
    body = analyst_api.get(URL, {"store": store, "start": "2024-01-01"}).json()
    assert body["filters"] == {"start": "2024-01-01", "end": body["filters"]["end"], "store": store}
    assert body["points"]["totals"]["issued"] == 300
    assert body["stored_value"]["outstanding_total"] == "525.00"
    assert len(body["points"]["monthly"]) > 12  # every month since January 2024


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "31/12/2025"}, "start"),
        ({"end": "2025-02-30"}, "end"),
        ({"start": "2025-06-01", "end": "2025-01-01"}, "start"),
        ({"store": "nowhere"}, "store"),
    ],
)
def test_bad_dates_and_unknown_stores_are_named(
    db: Any, analyst_api: Client, params: dict[str, str], field: str
) -> None:
    response = analyst_api.get(URL, params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_token_without_the_scope_is_refused(
    db: Any, make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    response = api_client_for(make_staff(roles.ANALYST), [CUSTOMERS_READ]).get(URL)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "missing_scope"


def test_sales_staff_may_not_see_the_loyalty_figures(
    db: Any, make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    assert api_client_for(make_staff(roles.SALES)).get(URL).status_code == 403
