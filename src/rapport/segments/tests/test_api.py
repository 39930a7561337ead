"""``/api/v1/segments``: good input, bad input (422 with rule paths), 404, 403, scopes."""

from __future__ import annotations

import json

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import CUSTOMERS_READ, SEGMENTS_READ
from rapport.segments.models import Segment
from rapport.segments.tests.conftest import SHANGHAI_RULE

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def operator_api(make_staff, api_client_for):
    return api_client_for(make_staff(roles.OPERATOR))


def test_preview_answers_count_and_masked_members(operator_api, shop):
    response = post(operator_api, "/api/v1/segments/preview", {"rule": SHANGHAI_RULE})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    amy = next(m for m in body["preview"] if m["name"] == "Amy")
    assert "****" in amy["phone"] and "13912345678" not in amy["phone"]


def test_preview_of_a_bad_rule_names_the_condition_part(operator_api, shop):
    rule = {
        "all": [
            {"type": "profile", "field": "city", "op": "eq", "value": "上海"},
            {"type": "profile", "field": "age", "op": "gt"},
        ]
    }
    response = post(operator_api, "/api/v1/segments/preview", {"rule": rule})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rule.all.1.value"]


def test_preview_refuses_unknown_body_fields(operator_api):
    response = post(operator_api, "/api/v1/segments/preview", {"rule": SHANGHAI_RULE, "rules": 1})
    assert response.status_code == 422


def test_create_read_update_delete(operator_api, shop):
    response = post(operator_api, "/api/v1/segments", {"name": "上海", "rule": SHANGHAI_RULE})
    assert response.status_code == 201
    segment_id = response.json()["id"]
    got = operator_api.get(f"/api/v1/segments/{segment_id}").json()
    assert (got["name"], got["count"]) == ("上海", 2)
    changed = operator_api.patch(
        f"/api/v1/segments/{segment_id}", json.dumps({"name": "Shanghai"}), content_type="application/json"
    )
    assert changed.json()["name"] == "Shanghai"
    listed = operator_api.get("/api/v1/segments").json()
    assert [s["name"] for s in listed["results"]] == ["Shanghai"]
    assert operator_api.delete(f"/api/v1/segments/{segment_id}").status_code == 204
    assert operator_api.get(f"/api/v1/segments/{segment_id}").status_code == 404


def test_create_with_a_bad_rule_changes_nothing(operator_api, shop):
    response = post(operator_api, "/api/v1/segments", {"name": "x", "rule": {"any": []}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "rule.any"
    assert not Segment.objects.filter(is_template=False).exists()


def test_members_portrait_snapshots(operator_api, shanghai):
    members = operator_api.get(f"/api/v1/segments/{shanghai.pk}/members?limit=1").json()
    assert (members["count"], len(members["results"])) == (2, 1)
    portrait = operator_api.get(f"/api/v1/segments/{shanghai.pk}/portrait").json()
    assert "gender" in [d["key"] for d in portrait["dimensions"]]
    taken = operator_api.post(f"/api/v1/segments/{shanghai.pk}/snapshot")
    assert taken.status_code == 201 and taken.json()["entered_count"] == 2
    history = operator_api.get(f"/api/v1/segments/{shanghai.pk}/snapshots").json()
    assert history["count"] == 1


def test_export_csv_is_masked_for_an_operator(operator_api, shanghai):
    response = operator_api.get(f"/api/v1/segments/{shanghai.pk}/export?format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "Amy" in text and "13912345678" not in text and "amy@example.com" not in text


def test_export_xlsx(operator_api, shanghai):
    response = operator_api.get(f"/api/v1/segments/{shanghai.pk}/export?format=xlsx")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"


def test_export_format_is_checked(operator_api, shanghai):
    assert operator_api.get(f"/api/v1/segments/{shanghai.pk}/export?format=pdf").status_code == 422


def test_templates_list_and_instantiate(operator_api):
    templates = operator_api.get("/api/v1/segments/templates").json()
    lapsed = next(t for t in templates if t["name"] == "Lapsed buyers")
    response = post(operator_api, f"/api/v1/segments/templates/{lapsed['id']}/instantiate", {"name": "Win back"})
    assert response.status_code == 201 and response.json()["name"] == "Win back"
    assert post(operator_api, "/api/v1/segments/templates/999999/instantiate", {}).status_code == 404


def test_condition_catalogue_lists_every_registered_type(operator_api, shop):
    body = operator_api.get("/api/v1/segments/conditions").json()
    types = {t["type"]: t for t in body["types"]}
    assert {"profile", "orders", "event", "bought", "store"} <= set(types)
    gender = next(s for s in types["profile"]["subjects"] if s["value"] == "gender")
    assert gender["kind"] == "choice" and ["female", "Female"] in gender["choices"]
    bought = {f["name"]: f for f in types["bought"]["fields"]}
    assert bought["categories"]["entity"] == "category" and ["tea", "Tea"] in bought["categories"]["choices"]
    assert bought["skus"]["entity"] == "product" and bought["window_days"]["kind"] == "days"


def test_a_role_without_segment_permissions_is_refused(make_staff, api_client_for, shanghai):
    agent = api_client_for(make_staff(roles.SERVICE_AGENT))
    response = agent.get("/api/v1/segments")
    assert response.status_code == 403
    assert post(agent, "/api/v1/segments/preview", {"rule": SHANGHAI_RULE}).status_code == 403


def test_a_token_without_the_write_scope_cannot_save(make_staff, api_client_for, shop):
    reader = api_client_for(make_staff(roles.ANALYST), scopes=[SEGMENTS_READ, CUSTOMERS_READ])
    assert post(reader, "/api/v1/segments/preview", {"rule": SHANGHAI_RULE}).status_code == 200
    response = post(reader, "/api/v1/segments", {"name": "x", "rule": SHANGHAI_RULE})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "missing_scope"


def test_members_follow_the_callers_scope(make_staff, api_client_for, shanghai, shop, system_actor):
    from rapport.customers.models import Customer
    from rapport.customers.services import assign_owner

    seller = make_staff(roles.SALES)
    assign_owner(Customer.objects.filter(pk=shop["cai"].pk), owner=seller, actor=system_actor)
    # sales staff hold no segment permission; the service still narrows to their customers
    from rapport.segments.services import segment_members

    assert [c.name for c in segment_members(shanghai, user=seller)] == ["Cai"]
