"""The dashboard and the report builder in Chromium, as an analyst uses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.accounts import roles
from rapport.analytics.models import SavedReport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_draws_its_charts_and_filters_by_store(
    page: Any, sign_in: Callable[..., Any], make_staff: Callable[..., Any], shop: dict[str, Any]
) -> None:
    make_staff(roles.ANALYST, username="ana")
    sign_in("ana")
    page.click("nav.mainnav >> text=Analytics")
    page.wait_for_url("**/analytics/")
    assert page.inner_text("#kpi-active") == "2"
    page.wait_for_selector("#chart-cohorts .main-svg")  # Plotly drew the heat map
    assert page.locator("#chart-customers .main-svg").count() >= 1
    page.select_option("#filter-store", shop["store"].code)
    page.click("#apply-filters")
    page.wait_for_url(f"**/analytics/?*store={shop['store'].code}*")
    assert page.inner_text("#kpi-orders") == "3"
    assert page.locator("#store-table tbody tr").count() == 1
    assert "Shanghai Flagship" in page.inner_text("#store-table")


def test_build_run_save_reopen_and_export_a_report(
    page: Any, sign_in: Callable[..., Any], make_staff: Callable[..., Any], shop: dict[str, Any]
) -> None:
    make_staff(roles.ANALYST, username="ana")
    sign_in("ana")
    page.goto("/analytics/reports/")
    page.select_option("#dimension-0", "channel")
    page.select_option("#dimension-1", "")
    page.uncheck("#measures input[value=orders]")
    page.check("#measures input[value=revenue]")
    page.check("#measures input[value=customers]")
    page.check("input[name=chart][value=bar]")
    page.click("#run-report")
    page.wait_for_selector("#report-table")
    page.wait_for_selector("#report-chart .main-svg")
    assert "web" in page.inner_text("#report-table")
    assert "400.00" in page.inner_text("#report-table")

    page.fill("#report-name", "Revenue by channel")
    page.click("#save-report")
    page.wait_for_selector("#open-report-name")
    assert page.inner_text("#open-report-name") == "Revenue by channel"
    assert SavedReport.objects.filter(name="Revenue by channel").exists()

    page.goto("/analytics/reports/")
    page.click("#saved-reports >> text=Revenue by channel")
    page.wait_for_selector("#report-table")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as exported:
        lines = exported.read().splitlines()
    assert lines[0] == "Order channel,Revenue,Customers"
    assert "web,400.00,2" in lines


def test_loyalty_page_draws_level_points_and_stored_value_charts(
    page: Any, sign_in: Callable[..., Any], make_staff: Callable[..., Any], stored_value_used: dict[str, Any]
) -> None:
    make_staff(roles.ANALYST, username="ana")
    sign_in("ana")
    page.goto("/analytics/")
    page.click("#analytics-sections >> text=Loyalty")
    page.wait_for_url("**/analytics/loyalty/")
    for chart in ("chart-level-revenue", "chart-level-members", "chart-points", "chart-stored-value"):
        page.wait_for_selector(f"#{chart} .main-svg")  # Plotly drew it
    assert page.inner_text("#kpi-points-issued") == "600"
    assert page.inner_text("#kpi-sv-principal") == "800.00"
    assert "Gold" in page.inner_text("#level-table")
    page.select_option("#filter-store", stored_value_used["store"].code)
    page.click("#apply-filters")
    page.wait_for_url(f"**/analytics/loyalty/?*store={stored_value_used['store'].code}*")
    assert page.inner_text("#kpi-points-issued") == "300"
    assert page.inner_text("#kpi-sv-principal") == "500.00"
