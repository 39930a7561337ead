"""The counter and task API as a POS or a WeCom sidebar calls it: scopes (403 before the body is
read), bad input (422 naming the field), a member code accepted once, a redemption once per key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import CHECKOUT, MEMBER_CODES, TASKS_READ, TASKS_WRITE
from rapport.clienteling.models import Task
from rapport.counter import codes
from rapport.loyalty.services import coupons
from rapport.loyalty.tests.factories import coupon_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(make_customer: Any, other_store: Any) -> Any:
    return make_customer(name="Li Na", phone="13900002468", store=other_store.pk)


@pytest.fixture
def till(make_staff: Any, store: Any, api_client_for: Any) -> Any:
    return api_client_for(make_staff(roles.STORE_STAFF, store=store), [MEMBER_CODES, CHECKOUT])


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_a_till_accepts_a_member_code_once_and_redeems_a_coupon_once(till, member, system_actor):
    coupon = coupons.issue(coupon_template(threshold=Decimal("0")), member, key="c", actor=system_actor)
    code = codes.issue(member).code
    found = _post(till, "/api/v1/counter/lookup", {"q": code})
    assert found.status_code == 200, found.content
    card = found.json()["members"][0]
    assert card["phone"] == "139****2468" and "13900002468" not in found.content.decode()
    again = _post(till, "/api/v1/counter/lookup", {"q": code})
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "used"
    body = {
        "visit": card["visit"],
        "receipt": "P-1",
        "total": "88.00",
        "coupon_code": coupon.code,
        "idempotency_key": "k",
    }
    first = _post(till, "/api/v1/counter/redeem", body)
    assert first.status_code == 201, first.content
    assert first.json()["amount_due"] == "68.00"
    assert _post(till, "/api/v1/counter/redeem", body).json()["id"] == first.json()["id"]
    clash = _post(till, "/api/v1/counter/redeem", {**body, "idempotency_key": "k2"})
    assert clash.status_code == 409
    reverse = _post(till, f"/api/v1/counter/redemptions/{first.json()['id']}/reverse", {"visit": card["visit"]})
    assert reverse.status_code == 403  # a clerk's till cannot reverse: a manager's can


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/counter/lookup", {"q": ""}, "body.q"),
        ("/api/v1/counter/lookup", {"q": "1234", "extra": 1}, "body.extra"),
        ("/api/v1/counter/redeem", {"visit": "v", "receipt": "R", "total": "-1", "idempotency_key": "k"}, "body.total"),
        ("/api/v1/counter/redeem", {"visit": "forged", "receipt": "R", "total": "1", "idempotency_key": "k"}, "visit"),
    ],
)
def test_bad_input_names_the_field(till, url, body, field):
    response = _post(till, url, body)
    assert response.status_code in (404, 422), response.content
    assert response.json()["errors"][0]["field"] == field


def test_scopes_are_checked_first(make_staff, store, api_client_for):
    clerk = make_staff(roles.STORE_STAFF, store=store)
    tasks_only = api_client_for(clerk, [TASKS_READ])
    assert _post(tasks_only, "/api/v1/counter/lookup", {"q": ""}).status_code == 403
    assert _post(tasks_only, "/api/v1/counter/redeem", {}).status_code == 403
    assert _post(tasks_only, "/api/v1/tasks", {}).status_code == 403
    codes_only = api_client_for(clerk, [MEMBER_CODES])
    assert codes_only.get("/api/v1/tasks").status_code == 403
    analyst = api_client_for(make_staff(roles.ANALYST), [MEMBER_CODES])
    assert _post(analyst, "/api/v1/counter/lookup", {"q": "1234"}).status_code == 403  # no counter in the role


def test_tasks_through_the_api(make_staff, make_customer, api_client_for):
    seller = make_staff(roles.SALES)
    customer = make_customer(name="Zhao Lei", owner=seller.pk)
    client = api_client_for(seller, [TASKS_READ, TASKS_WRITE])
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    created = _post(
        client,
        "/api/v1/tasks",
        {"customer_id": customer.pk, "title": "回访", "kind": "wecom", "due_at": due, "recurrence": "weekly"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["assignee"] == seller.username
    bad = _post(client, "/api/v1/tasks", {"customer_id": customer.pk, "title": "x", "kind": "fax", "due_at": due})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.kind"
    task_id = created.json()["id"]
    done = _post(client, f"/api/v1/tasks/{task_id}/complete", {"outcome": "reached"})
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["next_id"]
    assert _post(client, f"/api/v1/tasks/{task_id}/complete", {"outcome": "reached"}).status_code == 409
    listed = client.get("/api/v1/tasks?status=open").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == done.json()["next_id"]
    assert client.get("/api/v1/tasks?limit=0").status_code == 422
    assert client.get("/api/v1/tasks/completion").status_code == 403  # managers only
    other = api_client_for(make_staff(roles.SALES), [TASKS_READ, TASKS_WRITE])
    assert _post(other, f"/api/v1/tasks/{task_id}/complete", {"outcome": "reached"}).status_code == 404
    assert Task.objects.count() == 2
