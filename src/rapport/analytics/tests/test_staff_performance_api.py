"""GET /api/v1/analytics/staff-performance: the body, its filters, bad input (422 naming the field)
and who may call it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.accounts.scopes import ANALYTICS_READ, CUSTOMERS_READ
from rapport.clienteling.models import Contact
from rapport.commerce.models import Order

URL = "/api/v1/analytics/staff-performance"


@pytest.fixture
def analyst_api(make_staff: Callable[..., Any], api_client_for: Callable[..., Client]) -> Client:
    return api_client_for(make_staff(roles.ANALYST, username="ana"), [ANALYTICS_READ])


def test_the_body_attributes_orders_by_both_rules(
    team: dict[str, Any], place_order: Callable[..., Order], analyst_api: Client
) -> None:
    place_order(team["customer"], 20, "100.00")
    moved = place_order(team["customer"], 3, "50.50")
    at = moved.placed_at - dt.timedelta(days=2)
    Contact.objects.create(
        customer=team["customer"], kind="call", purpose="service", staff=team["helper"], occurred_at=at, created_at=at
    )
    response = analyst_api.get(URL, {"store": team["store"].code})
    assert response.status_code == 200
    body = response.json()
    by_name = {row["staff"]: row for row in body["staff"]}
    assert (by_name["owner"]["revenue"], by_name["helper"]["revenue"]) == ("100.00", "50.50")
    assert by_name["helper"]["by_contact"] == 1 and by_name["helper"]["contacts"] == 1
    assert body["rules"] == {
        "contact_rule": True,
        "contact_days": 7,
        "owner": "at_order_time",
        "in_words": body["rules"]["in_words"],
    }
    board = body["leaderboards"][0]
    assert board["store"] == team["store"].code
    assert [(row["rank"], row["staff"]) for row in board["rows"]] == [(1, "owner"), (2, "helper")]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"start": "31/12/2025"}, "start", "invalid"),
        ({"end": "tomorrow"}, "end", "invalid"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "start", "invalid"),
        ({"store": "nowhere"}, "store", "not_found"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    db: Any, analyst_api: Client, params: dict[str, str], field: str, code: str
) -> None:
    response = analyst_api.get(URL, params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["code"] == code


def test_a_token_without_the_analytics_scope_is_refused(
    db: Any, make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    response = api_client_for(make_staff(roles.ANALYST), [CUSTOMERS_READ]).get(URL)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "missing_scope"


def test_sales_staff_may_not_see_the_figures(
    db: Any, make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    assert api_client_for(make_staff(roles.SALES)).get(URL).status_code == 403
