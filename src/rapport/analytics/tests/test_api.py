"""``/api/v1/analytics``: status codes and bodies, scopes and permissions, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.accounts.scopes import ANALYTICS_READ, ANALYTICS_WRITE, CUSTOMERS_READ
from rapport.analytics.models import SavedReport

pytestmark = pytest.mark.django_db
API = "/api/v1/analytics"


@pytest.fixture
def analyst_api(make_staff: Callable[..., Any], api_client_for: Callable[..., Client]) -> Client:
    return api_client_for(make_staff(roles.ANALYST, username="ana"), [ANALYTICS_READ, ANALYTICS_WRITE])


def test_customer_metrics_body(shop: dict[str, Any], analyst_api: Client) -> None:
    response = analyst_api.get(f"{API}/customers/{shop['amy'].pk}/metrics")
    assert response.status_code == 200
    body = response.json()
    assert body["lifecycle_stage"] == "repeat"
    assert body["orders"] == 3
    assert body["monetary"] == "300.00"
    assert body["preferred_category"] == "tea"
    assert 1 <= body["r_score"] <= 5


def test_unknown_customer_is_404(db: Any, analyst_api: Client) -> None:
    response = analyst_api.get(f"{API}/customers/999999/metrics")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "id"


def test_token_without_the_scope_is_refused(
    shop: dict[str, Any], make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    client = api_client_for(make_staff(roles.ANALYST), [CUSTOMERS_READ])
    response = client.get(f"{API}/dashboard")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "missing_scope"


def test_sales_staff_may_not_see_dashboards(
    db: Any, make_staff: Callable[..., Any], api_client_for: Callable[..., Client]
) -> None:
    response = api_client_for(make_staff(roles.SALES)).get(f"{API}/dashboard")
    assert response.status_code == 403


def test_dashboard_with_filters_and_bad_dates(shop: dict[str, Any], analyst_api: Client) -> None:
    response = analyst_api.get(f"{API}/dashboard", {"store": shop["store"].code})
    assert response.status_code == 200
    assert response.json()["headline"]["orders"] == 3
    assert response.json()["headline"]["revenue"] == "300.00"
    bad = analyst_api.get(f"{API}/dashboard", {"start": "31/12/2025"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "start"


def test_run_a_report_and_bad_definitions(shop: dict[str, Any], analyst_api: Client) -> None:
    response = analyst_api.post(
        f"{API}/reports/run", {"dimensions": ["channel"], "measures": ["orders"]}, content_type="application/json"
    )
    assert response.status_code == 200
    assert ["web", 2] in response.json()["rows"]
    bad = analyst_api.post(
        f"{API}/reports/run", {"dimensions": ["colour"], "measures": []}, content_type="application/json"
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"dimensions.0", "measures"}
    typo = analyst_api.post(f"{API}/reports/run", {"measure": ["orders"]}, content_type="application/json")
    assert typo.status_code in (400, 422)


def test_saved_reports_crud_and_export(shop: dict[str, Any], analyst_api: Client) -> None:
    body = {"name": "By channel", "definition": {"dimensions": ["channel"], "measures": ["revenue"]}}
    created = analyst_api.post(f"{API}/reports", body, content_type="application/json")
    assert created.status_code == 201
    report_id = created.json()["id"]
    duplicate = analyst_api.post(f"{API}/reports", body, content_type="application/json")
    assert duplicate.status_code == 409
    listed = analyst_api.get(f"{API}/reports").json()
    assert [r["name"] for r in listed["results"]] == ["By channel"]
    one = analyst_api.get(f"{API}/reports/{report_id}").json()
    assert ["web", "400.00"] in one["result"]["rows"]
    renamed = analyst_api.put(
        f"{API}/reports/{report_id}", {**body, "name": "Channels"}, content_type="application/json"
    )
    assert renamed.json()["name"] == "Channels"
    csv = analyst_api.get(f"{API}/reports/{report_id}/export", {"format": "csv"})
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert b"web,400.00" in csv.content
    xlsx = analyst_api.get(f"{API}/reports/{report_id}/export", {"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    assert analyst_api.delete(f"{API}/reports/{report_id}").status_code == 204
    assert analyst_api.get(f"{API}/reports/{report_id}").status_code == 404
    assert not SavedReport.objects.exists()


def test_someone_elses_report_is_not_found(
    shop: dict[str, Any], analyst_api: Client, admin_user: Any, system_actor: Any
) -> None:
    from rapport.analytics import reports

    theirs = reports.save_report(owner=admin_user, name="Mine", definition={"measures": ["orders"]}, actor=system_actor)
    assert analyst_api.get(f"{API}/reports/{theirs.pk}").status_code == 404


def test_models_and_recompute(shop: dict[str, Any], analyst_api: Client) -> None:
    kinds = {fit["kind"] for fit in analyst_api.get(f"{API}/models").json()}
    assert "rfm" in kinds
    response = analyst_api.post(f"{API}/metrics/recompute")
    assert response.status_code == 200
    assert response.json()["customers"] == 3
