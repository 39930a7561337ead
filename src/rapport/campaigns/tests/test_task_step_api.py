"""A plan with a "create task" step through ``/api/v1/campaigns/plans``, and its tasks worked through
``/api/v1/tasks``: bad step settings answer 422 naming the field, scopes are checked first, the
journey's call task is on the owner's list and completing it is recorded once."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import CAMPAIGNS_READ, CAMPAIGNS_WRITE, TASKS_READ, TASKS_WRITE
from rapport.campaigns.models import Plan, Step
from rapport.clienteling.models import Task

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, body: Any = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def _plan(segment_id: int, **config: Any) -> dict[str, Any]:
    step = {"task_kind": "call", "title": "生日回访", "notes": "Wish them well", "due_in_days": 1, **config}
    return {"name": "Call list", "kind": "one_off", "segment": segment_id, "steps": [{"kind": "task", "config": step}]}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"title": ""}, "steps.0.title"),
        ({"task_kind": "fax"}, "steps.0.task_kind"),
        ({"due_in_days": -1}, "steps.0.due_in_days"),
        ({"due_in_days": "soon"}, "steps.0.due_in_days"),
        ({"assign": "everyone"}, "steps.0.assign"),
        ({"store": "no-such-store"}, "steps.0.store"),
        ({"purpose": "sales"}, "steps.0.purpose"),
        ({"notes": "x" * 4001}, "steps.0.notes"),
    ],
)
def test_a_bad_task_step_is_refused_naming_the_field(admin_api, shanghai, config, field):
    response = _post(admin_api, "/api/v1/campaigns/plans", _plan(shanghai.pk, **config))
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Plan.objects.exists() and not Step.objects.exists()


def test_plans_need_campaigns_write_and_tasks_need_tasks_scopes(make_staff, api_client_for, shanghai):
    operator = make_staff(roles.OPERATOR)
    read_only = api_client_for(operator, [CAMPAIGNS_READ, TASKS_READ])
    assert _post(read_only, "/api/v1/campaigns/plans", _plan(shanghai.pk)).status_code == 403
    assert _post(read_only, "/api/v1/tasks/1/complete", {"outcome": "reached"}).status_code == 403
    assert api_client_for(operator, [CAMPAIGNS_WRITE]).get("/api/v1/tasks").status_code == 403


def test_a_launched_task_step_puts_a_call_task_on_the_owners_list(
    make_staff, api_client_for, shanghai, make_member, django_capture_on_commit_callbacks
):
    seller = make_staff(roles.SALES)
    customer = make_member(owner=seller.pk)
    operator = api_client_for(make_staff(roles.OPERATOR), [CAMPAIGNS_READ, CAMPAIGNS_WRITE])
    created = _post(operator, "/api/v1/campaigns/plans", _plan(shanghai.pk))
    assert created.status_code == 201, created.content
    assert created.json()["steps"][0]["config"]["assign"] == "owner"
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(operator, f"/api/v1/campaigns/plans/{created.json()['id']}/launch").status_code == 200

    phone = api_client_for(seller, [TASKS_READ, TASKS_WRITE])
    listed = phone.get("/api/v1/tasks").json()
    assert [(t["customer_id"], t["kind"], t["title"]) for t in listed["results"]] == [(customer.pk, "call", "生日回访")]
    task_id = listed["results"][0]["id"]
    done = _post(phone, f"/api/v1/tasks/{task_id}/complete", {"outcome": "reached", "notes": "好的"})
    assert done.status_code == 200, done.content
    again = _post(phone, f"/api/v1/tasks/{task_id}/complete", {"outcome": "reached"})
    assert again.status_code == 409
    bad = _post(phone, f"/api/v1/tasks/{task_id}/complete", {"outcome": "maybe"})
    assert bad.status_code == 422
    assert Task.objects.get(pk=task_id).outcome == "reached"
