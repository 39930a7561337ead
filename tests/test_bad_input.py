"""Bad input of every kind is a 4xx naming the field, never a 500 (issue 18, item 14).

The classes are tested as classes: every string query parameter the API documents, every list
endpoint, every partial update; then each case that was reported.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.commerce import services as commerce_services
from rapport.customers.models import Store
from rapport.imports.models import ImportJob
from rapport.segments import services as segment_services
from rapport.tags import services as tag_services

pytestmark = pytest.mark.django_db

NUL = "\u0000"
HUGE = "99999999999999999999"


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    from rapport.urls import api

    schema = api.get_openapi_schema()
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def _string_query_parameters() -> list[tuple[str, str]]:
    found = []
    for path, method, op in _operations():
        if method != "get" or "{" in path:
            continue
        for param in op.get("parameters", []):
            schema = param.get("schema", {})
            types = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
            if param["in"] == "query" and "string" in types:
                found.append((path, param["name"]))
    return found


def _list_endpoints() -> list[str]:
    return [
        path
        for path, method, op in _operations()
        if method == "get" and any(p["name"] == "offset" and p["in"] == "query" for p in op.get("parameters", []))
    ]


@pytest.fixture
def admin_api(make_staff, api_client_for) -> Client:
    client = api_client_for(make_staff(roles.ADMIN, username="admin"))
    client.raise_request_exception = False
    return client


@pytest.fixture
def objects(make_customer, system_actor) -> dict[str, int]:
    """A row for every id a list endpoint's path takes."""
    customer = make_customer(city="上海")
    rule = {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    segment = segment_services.save_segment(data={"name": "上海", "rule": rule}, actor=system_actor)
    category = tag_services.create_category(data={"name": "Interests"}, actor=system_actor)
    tag = tag_services.create_tag(data={"name": "Tea", "category": category.pk}, actor=system_actor)
    job = ImportJob.objects.create(kind=ImportJob.Kind.CUSTOMERS, file_path="", original_name="customers.csv")
    product = commerce_services.upsert_product(data={"sku": "TEA-1", "name": "Tea", "price": "9"}, actor=system_actor)[
        0
    ]
    return {
        "sku": product.sku,
        "customer_id": customer.pk,
        "segment_id": segment.pk,
        "tag_id": tag.pk,
        "category_id": category.pk,
        "job_id": job.pk,
    }


def _errors(response) -> list[dict[str, str]]:
    return response.json()["errors"]


def test_every_string_query_parameter_refuses_a_nul_naming_it(admin_api):
    parameters = _string_query_parameters()
    assert len(parameters) > 30  # the class, not a sample
    for path, name in parameters:
        response = admin_api.get(path, {name: f"a{NUL}b"})
        assert response.status_code == 422, (path, name, response.content)
        assert _errors(response)[0]["field"] == f"query.{name}", (path, name)


def _required_query(path: str, objects: dict[str, int]) -> dict[str, int]:
    """The required query parameters of a list endpoint (such as a customer's contacts' customer_id),
    filled from ``objects``, so that only the offset can be wrong."""
    op = next(op for found, method, op in _operations() if found == path and method == "get")
    return {p["name"]: objects[p["name"]] for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")}


@pytest.mark.parametrize("path", _list_endpoints())
def test_every_list_endpoint_refuses_a_huge_offset(admin_api, objects, path):
    required = _required_query(path, objects)
    response = admin_api.get(path.format(**objects), {**required, "offset": HUGE})
    assert response.status_code == 422, response.content
    assert _errors(response)[0]["field"] == "offset"
    assert admin_api.get(path.format(**objects), {**required, "offset": "1000000"}).status_code == 200


def test_the_list_endpoints_are_all_found():
    assert len(_list_endpoints()) >= 20


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/customers?q=%00", "query.q"),
        ("/api/v1/customers?city=%00", "query.city"),
        ("/api/v1/customers?channel=%00", "query.channel"),
        ("/api/v1/audit?object_type=%00", "query.object_type"),
        ("/api/v1/tickets?assignee=%00", "query.assignee"),
        ("/api/v1/tags?store=%00", "query.store"),
    ],
)
def test_reported_nul_query_strings(admin_api, url, field):
    response = admin_api.get(url)
    assert response.status_code == 422 and _errors(response)[0]["field"] == field


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (
            "/api/v1/segments/preview",
            {"rule": {"type": "profile", "field": "city", "op": "eq", "value": NUL}},
            "body.rule.value",
        ),
        (
            "/api/v1/segments/preview",
            {"rule": {"type": "custom_field", "key": f"k{NUL}", "op": "eq", "value": "x"}},
            "body.rule.key",
        ),
        (
            "/api/v1/tag-rules/preview",
            {"rule": {"all": [{"type": "event", "name": f"View{NUL}", "op": "count_gte", "value": 1}]}},
            "body.rule.all.0.name",
        ),
        (
            "/api/v1/loyalty/customers/1/points/spend",
            {"idempotency_key": f"a{NUL}b", "points": 1},
            "body.idempotency_key",
        ),
        ("/api/v1/tags", {"name": "Tea", "category": 1, "store": NUL}, "body.store"),
        ("/api/v1/tickets", {"subject": "Hi", "assignee": f"x{NUL}"}, "body.assignee"),
        ("/api/v1/customers", {"name": "x", f"ci{NUL}ty": "上海"}, "body.ci\\u0000ty"),
    ],
)
def test_reported_nul_bodies(admin_api, url, body, field):
    response = admin_api.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content
    assert _errors(response)[0] == {
        "field": field,
        "code": "invalid",
        "message": "text may not contain the NUL character (\\u0000)",
    }


def test_a_literal_backslash_u0000_is_ordinary_text(admin_api):
    body = {"name": "literal \\u0000 text"}
    response = admin_api.post("/api/v1/customers", json.dumps(body), content_type="application/json")
    assert response.status_code == 201 and response.json()["name"] == "literal \\u0000 text"


@pytest.mark.parametrize("url", ["/customers/?q=%00", "/orders/?q=%00", "/audit/?object_type=%00"])
def test_console_pages_answer_a_nul_with_a_styled_400_naming_the_field(client, admin_user, url):
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 400
    page = response.content.decode()
    assert "mainnav" in page and "Bad request" in page
    field = url.split("?")[1].split("=")[0]
    assert f"“{field}”" in page


def test_console_form_posts_refuse_a_nul(client, admin_user, make_customer):
    customer = make_customer(name="Amy")
    client.force_login(admin_user)
    response = client.post(f"/customers/{customer.pk}/edit/", {"name": f"A{NUL}my"})
    assert response.status_code == 400 and "“name”" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "Amy"


def test_tracking_query_strings_refuse_a_nul(client):
    response = client.post("/v1/track?x=%00", "{}", content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "x"


def test_patch_store_with_null_for_a_required_field_is_422(admin_api, store):
    response = admin_api.patch(f"/api/v1/stores/{store.pk}", {"is_online": None}, content_type="application/json")
    assert response.status_code == 422
    assert _errors(response) == [{"field": "body.is_online", "code": "null", "message": "this field cannot be null"}]
    store.refresh_from_db()
    assert store.is_online is False


def test_every_store_field_patched_to_null_is_refused_or_cleared_never_a_500(admin_api, store):
    for name in ("code", "name", "city", "time_zone", "currency", "is_online", "is_active"):
        response = admin_api.patch(f"/api/v1/stores/{store.pk}", {name: None}, content_type="application/json")
        assert response.status_code in (200, 422), (name, response.content)
    assert Store.objects.filter(pk=store.pk, code="sh-01").exists()


def _patch_operations() -> list[tuple[str, list[str]]]:
    from rapport.urls import api

    schema = api.get_openapi_schema()
    found = []
    for path, method, op in _operations():
        if method != "patch" or "requestBody" not in op:
            continue
        body = op["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in body:
            body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        found.append((path, sorted(body.get("properties", {}))))
    return found


def test_every_partial_update_answers_null_fields_without_a_500(admin_api, objects, store):
    ids = {**objects, "store_id": store.pk}
    tested = 0
    for path, fields in _patch_operations():
        try:
            url = path.format(**ids)
        except KeyError:
            continue  # an object this test does not make
        for name in fields:
            response = admin_api.patch(url, json.dumps({name: None}), content_type="application/json")
            assert response.status_code < 500, (url, name, response.content)
            tested += 1
    assert tested >= 20


def test_a_huge_adjustment_is_422_naming_delta(admin_api, make_customer):
    """Found by scripts/fuzz-api: 1.7976931348623157e+308 reached the ledger and failed there."""
    customer = make_customer()
    body = {"delta": 1.7976931348623157e308, "idempotency_key": "k", "asset": "principal", "reason": "x"}
    response = admin_api.post(
        f"/api/v1/loyalty/customers/{customer.pk}/adjustments", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422 and _errors(response)[0]["field"] == "body.delta"


def test_an_unreadable_multipart_form_is_a_4xx(admin_api, objects):
    response = admin_api.generic(
        "POST", f"/api/v1/tags/{objects['tag_id']}/batch/file", b"--x--", content_type="multipart/form-data"
    )
    assert 400 <= response.status_code < 500
