"""The analytics admin: every page opens for a superuser, metrics and model fits are read-only, and
saved reports are saved through the reports service (refused and audited alike)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.analytics import reports
from rapport.analytics.models import CustomerMetrics, ModelFit, SavedReport
from rapport.audit.models import AuditEntry
from rapport.testing.admin import assert_only_configuration_is_editable, every_change_page, registered_admins

pytestmark = pytest.mark.django_db

ANALYTICS_ADMINS = registered_admins("analytics")


@pytest.fixture
def analytics_rows(make_customer, admin_user, system_actor) -> None:
    now = timezone.now()
    CustomerMetrics.objects.create(customer=make_customer(name="Zhou Min"), computed_at=now, lifecycle_stage="new")
    ModelFit.objects.create(kind=ModelFit.Kind.BGNBD, params={"r": 0.2}, customers=1, fitted_at=now)
    reports.save_report(owner=admin_user, name="Orders", definition={"measures": ["orders"]}, actor=system_actor)


def test_every_analytics_model_opens_its_list_and_a_change_page(admin_client, analytics_rows):
    assert len(ANALYTICS_ADMINS) == 3
    assert len(list(every_change_page(admin_client, "analytics"))) == 3


def test_metrics_and_model_fits_are_read_only_and_reports_are_not_deleted_here(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    assert_only_configuration_is_editable(request, "analytics", {SavedReport})


def test_a_report_definition_the_builder_would_refuse_is_refused_with_the_part_named(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:analytics_savedreport_add"),
        {"name": "Bad", "owner": str(admin_user.pk), "definition": json.dumps({"measures": ["moon_phase"]})},
    )

    assert response.status_code == 200
    assert "definition.measures.0" in response.context["adminform"].form.errors["definition"][0]
    assert not SavedReport.objects.exists()


def test_a_report_changed_in_the_admin_is_normalised_and_audited(admin_client, admin_user, system_actor):
    report = reports.save_report(
        owner=admin_user, name="Orders", definition={"measures": ["orders"]}, actor=system_actor
    )

    response = admin_client.post(
        reverse("admin:analytics_savedreport_change", args=[report.pk]),
        {"name": "Orders by month", "definition": json.dumps({"measures": ["orders"], "chart": "table"})},
    )

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.name == "Orders by month" and report.definition["limit"] == 500
    assert AuditEntry.objects.filter(object_type="analytics.savedreport", action="update").count() == 1
