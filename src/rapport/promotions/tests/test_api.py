"""The promotions API: create, read, list, change and preview, with bad input named by field and
overlapping schedules reported as warnings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from rapport.promotions.models import Promotion

pytestmark = pytest.mark.django_db


def _send(client: Client, method: str, path: str, body: dict[str, Any]) -> Any:
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


FULL_REDUCTION = {
    "code": "MAN300",
    "name": "满300减30",
    "kind": "full_reduction",
    "starts_at": "2026-12-01T00:00:00Z",
    "tiers": [{"threshold": "300", "amount_off": "30"}, {"threshold": "500", "amount_off": "60"}],
}


def test_create_read_list_change_and_preview(admin_api: Client) -> None:
    created = _send(admin_api, "post", "/api/v1/promotions", FULL_REDUCTION)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["code"] == "MAN300" and body["warnings"] == []
    assert admin_api.get(f"/api/v1/promotions/{body['id']}").json()["tiers"][1]["amount_off"] == "60"
    assert admin_api.get("/api/v1/promotions?kind=full_reduction").json()["count"] == 1
    changed = _send(admin_api, "patch", f"/api/v1/promotions/{body['id']}", {"name": "满300减30 · 满500减60"})
    assert changed.status_code == 200 and changed.json()["name"].endswith("满500减60")
    cart = {"lines": [{"sku": "TEE", "quantity": 3, "unit_price": "180.00"}], "promotions": ["MAN300"]}
    priced = _send(admin_api, "post", "/api/v1/promotions/preview", cart)
    assert priced.status_code == 200
    assert priced.json()["total"] == "480.00"
    assert priced.json()["applied"] == [
        {"code": "MAN300", "name": "满300减30 · 满500减60", "layer": "order", "amount": "60.00"}
    ]


def test_overlapping_schedules_come_back_as_warnings(admin_api: Client) -> None:
    _send(admin_api, "post", "/api/v1/promotions", FULL_REDUCTION)
    second = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "code": "MAN300-B"})
    assert second.status_code == 201 and "MAN300" in second.json()["warnings"][0]


def test_bad_input_names_the_field_and_saves_nothing(admin_api: Client) -> None:
    bad_tiers = {
        **FULL_REDUCTION,
        "tiers": [{"threshold": "500", "amount_off": "60"}, {"threshold": "300", "amount_off": "30"}],
    }
    answer = _send(admin_api, "post", "/api/v1/promotions", bad_tiers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "tiers[1].threshold"
    over_cap = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "total_limit": 0})
    assert over_cap.status_code == 422 and "total_limit" in json.dumps(over_cap.json())
    late = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "ends_at": "2026-11-01T00:00:00Z"})
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "ends_at"
    unknown = _send(
        admin_api,
        "post",
        "/api/v1/promotions/preview",
        {"lines": [{"sku": "A", "unit_price": "1"}], "promotions": ["NOPE"]},
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "promotions"
    assert not Promotion.objects.exists()
    assert admin_api.get("/api/v1/promotions/999").status_code == 404


def test_a_taken_code_and_out_of_range_ids_are_refused_by_field(admin_api: Client) -> None:
    """Found by the API fuzzing: a second promotion's code changed to the first's, and ids or caps
    beyond what the database stores, answered 500."""
    first = _send(admin_api, "post", "/api/v1/promotions", FULL_REDUCTION).json()
    second = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "code": "MAN300-B"}).json()
    taken = _send(admin_api, "patch", f"/api/v1/promotions/{second['id']}", {"code": first["code"]})
    assert taken.status_code == 422 and taken.json()["errors"][0] == {
        "field": "code",
        "code": "taken",
        "message": "Another promotion has this code.",
    }
    for body in ({"segment_id": 2**63}, {"store_ids": [2**63]}, {"total_limit": 2**31}):
        answer = _send(admin_api, "patch", f"/api/v1/promotions/{second['id']}", body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"].startswith(f"body.{next(iter(body))}"), answer.json()
    assert Promotion.objects.get(pk=second["id"]).code == "MAN300-B"


def test_a_personal_promotion_is_created_and_reported_without_hold_outs(admin_api: Client) -> None:
    created = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "audience": "personal"})
    assert created.status_code == 201, created.json()
    assert created.json()["audience"] == "personal"
    report = admin_api.get(f"/api/v1/promotions/{created.json()['id']}/report")
    assert report.status_code == 200
    assert report.json() == {
        "id": created.json()["id"],
        "code": "MAN300",
        "orders": 0,
        "uses": 0,
        "revenue": "0.00",
        "discount": "0.00",
        "granted": 0,
        "holdouts": [],
    }
    refused = _send(admin_api, "post", "/api/v1/promotions", {**FULL_REDUCTION, "code": "X", "audience": "vip"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"].endswith("audience")
