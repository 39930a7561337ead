"""Console pages through the Django test client: what each role sees and may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.accounts import roles
from rapport.analytics.models import ModelFit, SavedReport

pytestmark = pytest.mark.django_db


def test_dashboard_shows_kpis_and_charts(shop: dict[str, Any], signed_in: Callable[..., Any]) -> None:
    client, _user = signed_in(roles.ANALYST)
    response = client.get("/analytics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="kpi-active">2<' in html
    for chart in ("chart-customers", "chart-revenue", "chart-cohorts", "chart-stores", "chart-channels"):
        assert f'id="{chart}"' in html
    assert "vendor/plotly.min.js" in html
    filtered = client.get("/analytics/", {"store": shop["store"].code}).content.decode()
    assert 'id="kpi-orders">3<' in filtered


def test_bad_dashboard_filter_is_shown_and_the_default_range_used(
    shop: dict[str, Any], signed_in: Callable[..., Any]
) -> None:
    client, _user = signed_in(roles.OPERATOR)
    html = client.get("/analytics/", {"start": "nonsense"}).content.decode()
    assert 'id="form-errors"' in html and "expected a date" in html
    assert 'id="kpi-active">2<' in html


def test_sales_staff_see_the_360_tab_but_not_the_dashboards(
    shop: dict[str, Any], signed_in: Callable[..., Any]
) -> None:
    client, _user = signed_in(roles.SALES)
    assert client.get("/analytics/").status_code == 403
    assert client.get("/analytics/reports/").status_code == 403


def test_customer_360_analytics_tab(shop: dict[str, Any], signed_in: Callable[..., Any]) -> None:
    client, _user = signed_in(roles.SERVICE_AGENT)
    html = client.get(f"/customers/{shop['amy'].pk}/", {"tab": "analytics"}).content.decode()
    assert 'id="customer-metrics"' in html
    assert 'id="metric-lifecycle">Repeat<' in html


def test_report_builder_runs_saves_opens_and_exports(shop: dict[str, Any], signed_in: Callable[..., Any]) -> None:
    client, user = signed_in(roles.ANALYST)
    query = "dimensions=channel&dimensions=&measures=revenue&measures=orders&chart=bar&limit=500"
    html = client.get(f"/analytics/reports/?{query}").content.decode()
    assert 'id="report-table"' in html and 'id="report-chart"' in html
    assert "<td>web</td>" in html
    saved = client.post("/analytics/reports/save/", {"name": "Channels", "query": query})
    report = SavedReport.objects.get(owner=user)
    assert saved.status_code == 302 and saved["Location"].endswith(f"?report={report.pk}")
    opened = client.get(f"/analytics/reports/?report={report.pk}", follow=True).content.decode()
    assert 'id="open-report-name">Channels<' in opened
    export = client.get(f"/analytics/reports/?{query}&export=csv")
    assert export["Content-Disposition"].startswith('attachment; filename="report-')
    assert b"web,400.00,2" in export.content
    duplicate = client.post("/analytics/reports/save/", {"name": "Channels", "query": query}, follow=True)
    assert "already have a report named" in duplicate.content.decode()
    client.post(f"/analytics/reports/{report.pk}/delete/")
    assert not SavedReport.objects.exists()


def test_report_builder_shows_errors_for_a_bad_definition(db: Any, signed_in: Callable[..., Any]) -> None:
    client, _user = signed_in(roles.ANALYST)
    html = client.get("/analytics/reports/?dimensions=category&measures=discount").content.decode()
    assert 'id="form-errors"' in html and "cannot be combined" in html


def test_models_page_and_recompute(shop: dict[str, Any], signed_in: Callable[..., Any]) -> None:
    client, _user = signed_in(roles.OPERATOR)
    page = client.get("/analytics/models/").content.decode()
    assert 'id="fit-rfm"' in page and "What it predicts" in page and "Quintile breakpoints" in page
    assert "Parameters (advanced)" in page  # the raw JSON is folded away
    before = ModelFit.objects.count()
    response = client.post("/analytics/models/recompute/", follow=True)
    assert "Metrics recomputed for 3 customers" in response.content.decode()
    assert ModelFit.objects.count() > before
