"""A plan granting a personal promotion through ``/api/v1/campaigns/plans``, and the promotion's
report through ``/api/v1/promotions/<id>/report``: bad step settings answer 422 naming the field and
write nothing; the report gives the customers granted it and the hold-out comparison per plan."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import CAMPAIGNS_READ
from rapport.campaigns.models import Enrollment, Plan, Step
from rapport.promotions.models import Promotion
from rapport.promotions.tests.factories import personal_promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def lapsed_gold(db: Any) -> Promotion:
    return personal_promotion()


def _plan(segment_id: int, **config: Any) -> dict[str, Any]:
    return {
        "name": "Win back Gold",
        "kind": "one_off",
        "segment": segment_id,
        "control_percent": 20,
        "steps": [{"kind": "promotion", "config": config}],
    }


def test_a_plan_with_a_grant_step_is_saved_and_its_hours_default_to_72(admin_api, shanghai, lapsed_gold):
    response = admin_api.post(
        "/api/v1/campaigns/plans", _plan(shanghai.pk, promotion=lapsed_gold.pk), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["steps"][0]["config"] == {"promotion": lapsed_gold.pk, "hours": 72}


OURS = "the personal promotion"


@pytest.mark.parametrize(
    ("config", "field", "code"),
    [
        ({}, "steps.0.promotion", "not_found"),
        ({"promotion": 10**30}, "steps.0.promotion", "not_found"),
        ({"promotion": [1]}, "steps.0.promotion", "not_found"),
        ({"promotion": OURS, "hours": -1}, "steps.0.hours", "invalid"),
        ({"promotion": OURS, "hours": True}, "steps.0.hours", "invalid"),
        ({"promotion": OURS, "hours": 1.5}, "steps.0.hours", "invalid"),
    ],
)
def test_a_bad_grant_step_is_refused_naming_the_field(admin_api, shanghai, lapsed_gold, config, field, code):
    config = {k: lapsed_gold.pk if v == OURS else v for k, v in config.items()}
    response = admin_api.post("/api/v1/campaigns/plans", _plan(shanghai.pk, **config), content_type="application/json")
    assert response.status_code == 422, response.content
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert not Plan.objects.exists() and not Step.objects.exists()


def test_the_report_gives_grants_and_the_hold_out_comparison(
    admin_api, make_member, make_plan, launch, lapsed_gold, api_client_for, make_staff
):
    for _ in range(16):
        make_member()
    step = {"kind": "promotion", "config": {"promotion": lapsed_gold.pk, "hours": 48}}
    plan = launch(make_plan(steps=[step], control_percent=50))
    held = Enrollment.objects.filter(plan=plan, state=Enrollment.State.HELD_OUT).count()
    assert 0 < held < 16

    response = admin_api.get(f"/api/v1/promotions/{lapsed_gold.pk}/report")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["code"], body["orders"], body["discount"], body["granted"]) == ("lapsed-gold", 0, "0.00", 16 - held)
    [row] = body["holdouts"]
    assert (row["plan_id"], row["granted"], row["window_days"]) == (plan.pk, 16 - held, plan.attribution_days)
    assert (row["treated"]["customers"], row["held_out"]["customers"]) == (16 - held, held)
    assert (row["difference"], row["incremental_revenue"], row["significant"]) == ("0.00", "0.00", False)

    assert admin_api.get("/api/v1/promotions/999999/report").status_code == 404
    campaigns_only = api_client_for(make_staff(roles.OPERATOR), [CAMPAIGNS_READ])
    assert campaigns_only.get(f"/api/v1/promotions/{lapsed_gold.pk}/report").status_code == 403
