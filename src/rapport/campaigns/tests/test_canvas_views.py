"""The canvas page: the drawing with counts, edits from the side panel, bad input named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.campaigns.journeys import engine
from rapport.campaigns.models import Plan
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

FEMALE = {"type": "profile", "field": "gender", "op": "eq", "value": "female"}


@pytest.fixture
def operator_client(make_staff: Any) -> Client:
    user = make_staff(roles.OPERATOR, username="marketer")
    client = Client()
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


@pytest.fixture
def draft(make_plan: Any, make_template: Any) -> Plan:
    site = make_template("site")
    return make_plan(
        kind="journey",
        trigger={"type": "birthday", "days_before": 0},
        segment=None,
        steps=[{"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}}],
    )


def _url(plan: Plan) -> str:
    return f"/campaigns/{plan.pk}/canvas/"


def test_the_canvas_draws_each_step_with_its_counts(operator_client, draft, make_member, launch):
    plan = launch(draft)
    members = [make_member() for _ in range(2)]
    now = timezone.now()
    engine.enroll_entries(plan, [engine.Entry(m.pk, "t", {}) for m in members], now=now)
    engine.advance(plan, now=now)
    page = operator_client.get(_url(plan)).content.decode()
    assert 'data-position="1" data-kind="send" data-entered="2" data-waiting="0" data-passed="2"' in page
    assert "add-step" not in page  # a running plan is read only


def test_adding_a_split_with_a_rule_from_the_builder_saves_it_on_the_edge(operator_client, draft):
    page = operator_client.get(_url(draft) + "?add=trigger:next&kind=split").content.decode()
    assert 'id="rule-builder"' in page and "segments/builder.js" in page and "campaigns/canvas.js" in page
    response = operator_client.post(
        _url(draft),
        {
            "op": "add",
            "source": "trigger",
            "branch": "next",
            "kind": "split",
            "split_on": "rule",
            "rule": json.dumps(FEMALE),
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?step=1#panel")
    steps = list(draft.steps.order_by("position").values_list("kind", "config"))
    assert steps[0] == ("split", {"rule": FEMALE, "yes": None, "no": None})
    assert steps[1][0] == "send"


def test_a_split_without_a_condition_is_refused_with_the_field_and_nothing_changes(operator_client, draft):
    response = operator_client.post(
        _url(draft),
        {"op": "add", "source": "1", "branch": "next", "kind": "split", "split_on": "rule", "rule": ""},
    )
    assert response.status_code == 200
    assert 'data-field="steps.1.rule"' in response.content.decode()
    assert draft.steps.count() == 1


def test_editing_and_deleting_a_step_from_the_panel(operator_client, draft):
    operator_client.post(_url(draft), {"op": "add", "source": "1", "branch": "next", "kind": "wait", "minutes": "30"})
    assert draft.steps.get(position=2).config == {"minutes": 30}
    operator_client.post(_url(draft), {"op": "change", "position": "2", "minutes": "45"})
    assert draft.steps.get(position=2).config == {"minutes": 45}
    operator_client.post(_url(draft), {"op": "delete", "position": "2"})
    assert list(draft.steps.values_list("kind", flat=True)) == ["send"]


@pytest.mark.parametrize(
    "data",
    [
        {"op": "jump"},
        {"op": "change", "position": "9"},
        {"op": "delete", "position": "x"},
        {"op": "add", "source": "1"},
    ],
)
def test_bad_edits_answer_with_the_field_not_a_500(operator_client, draft, data):
    response = operator_client.post(_url(draft), data)
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()
    assert draft.steps.count() == 1


def test_a_launched_plan_cannot_be_edited_on_the_canvas(operator_client, draft, launch):
    plan = launch(draft)
    response = operator_client.post(_url(plan), {"op": "delete", "position": "1"})
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()
    assert plan.steps.count() == 1
