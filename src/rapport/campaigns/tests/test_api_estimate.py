"""The launch estimate over the API: the same figures as the confirmation page; bad input named."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import CAMPAIGNS_WRITE

pytestmark = pytest.mark.django_db


def test_the_estimate_answers_the_launch_figures_and_changes_nothing(admin_api, make_plan, make_member, settings):
    settings.RAPPORT_CHANNEL_COSTS = {"email": "0.002"}
    for _ in range(3):
        make_member()
    make_member(consent=())
    plan = make_plan(control_percent=0)
    response = admin_api.get(f"/api/v1/campaigns/plans/{plan.pk}/estimate")
    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["audience"], body["hold_out"], body["treated"]) == (plan.pk, 4, 0, 4)
    (email,) = body["channels"]
    assert (email["channel"], email["with_address"], email["with_consent"], email["reachable"]) == ("email", 4, 3, 3)
    assert email["messages"] == 3 and email["cost"] == "0.01" and body["total_cost"] == "0.01"
    assert body["send_minutes"] == 1 and body["currency"] == settings.RAPPORT_CURRENCY
    plan.refresh_from_db()
    assert plan.status == "draft" and not plan.enrollments.exists()


def test_the_estimate_of_an_unknown_or_launched_plan_is_refused(admin_api, make_plan):
    assert admin_api.get("/api/v1/campaigns/plans/999999/estimate").status_code == 404
    assert admin_api.get("/api/v1/campaigns/plans/x/estimate").status_code == 422
    plan = make_plan()
    admin_api.post(f"/api/v1/campaigns/plans/{plan.pk}/launch")
    response = admin_api.get(f"/api/v1/campaigns/plans/{plan.pk}/estimate")
    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "field": "status",
        "code": "not_draft",
        "message": response.json()["errors"][0]["message"],
    }


def test_the_estimate_needs_the_read_scope(api_client_for, make_staff, make_plan):
    client = api_client_for(make_staff(roles.OPERATOR, username="w"), scopes=[CAMPAIGNS_WRITE])
    assert client.get(f"/api/v1/campaigns/plans/{make_plan().pk}/estimate").status_code == 403
