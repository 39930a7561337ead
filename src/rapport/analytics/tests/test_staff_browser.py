"""The staff performance page in Chromium: an analyst at a desk in English, and on a phone (390×844)
in 简体中文, sees the rules in words, the store's leaderboard and the figures per staff member, and
nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings

from rapport.accounts import roles
from rapport.clienteling.models import Contact
from rapport.commerce.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "size", "heading", "rule"),
    [
        ("en", {"width": 1280, "height": 900}, "Staff performance", "when the order was placed"),
        ("zh-hans", {"width": 390, "height": 844}, "导购业绩", "下单时"),
    ],
)
def test_the_staff_page_shows_rules_leaderboard_and_staff(
    page: Any,
    live_server: Any,
    sign_in: Callable[..., Any],
    make_staff: Callable[..., Any],
    make_customer: Callable[..., Any],
    team: dict[str, Any],
    place_order: Callable[..., Order],
    language: str,
    size: dict[str, int],
    heading: str,
    rule: str,
) -> None:
    from rapport.customers.models import Customer

    recruit = make_customer()
    Customer.objects.filter(pk=recruit.pk).update(recruited_by=team["helper"], recruited_at=team["store"])
    place_order(team["customer"], 20, "1234.50")
    moved = place_order(team["customer"], 3, "80.00")
    at = moved.placed_at - dt.timedelta(days=1)
    Contact.objects.create(
        customer=team["customer"], kind="call", purpose="service", staff=team["helper"], occurred_at=at, created_at=at
    )
    make_staff(roles.ANALYST, username="ana")
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size(size)
    sign_in("ana")
    page.goto("/analytics/staff/")
    assert heading in page.inner_text("#analytics-sections .active")
    assert rule in page.inner_text("#attribution-rules")
    board = page.locator(f".leaderboard[data-store='{team['store'].code}']")
    assert board.locator("tbody tr").count() == 2
    assert "owner" in board.locator("tbody tr").first.inner_text()
    helper_row = board.locator("tbody tr", has_text="helper")
    assert helper_row.locator("td").last.inner_text() == "1"  # the member they recruited at this store
    staff_table = page.inner_text("#staff-table")
    assert "1234.50" in staff_table.replace(",", "") and "helper" in staff_table  # grouping by language
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.select_option("#filter-store", team["store"].code)
    page.click("#apply-filters")
    page.wait_for_url(f"**/analytics/staff/?*store={team['store'].code}*")
    assert page.locator(".leaderboard").count() == 1
