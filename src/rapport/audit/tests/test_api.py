"""The audit log over the API: filters, scopes and bad input."""

from __future__ import annotations

import pytest

from rapport.accounts import roles

pytestmark = pytest.mark.django_db


def test_audit_entries_are_listed_and_filtered(admin_api, make_customer):
    customer = make_customer()
    admin_api.patch(f"/api/v1/customers/{customer.pk}", {"city": "成都"}, content_type="application/json")
    admin_api.post(f"/api/v1/customers/{customer.pk}/reveal")
    everything = admin_api.get("/api/v1/audit").json()
    assert everything["count"] >= 3
    reveals = admin_api.get("/api/v1/audit", {"action": "reveal"}).json()["results"]
    assert len(reveals) == 1 and reveals[0]["object_id"] == str(customer.pk) and reveals[0]["source"] == "api"
    updates = admin_api.get(
        "/api/v1/audit", {"object_type": "customers.customer", "object_id": customer.pk, "action": "update"}
    ).json()["results"]
    assert updates[0]["changes"]["city"] == ["", "成都"]
    assert admin_api.get("/api/v1/audit", {"since": "2999-01-01"}).json()["count"] == 0


def test_bad_filters_and_roles_without_audit_access(admin_api, make_staff, api_client_for):
    bad = admin_api.get("/api/v1/audit", {"action": "explode", "since": "last week"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"action", "since"}
    assert api_client_for(make_staff(roles.SALES)).get("/api/v1/audit").status_code == 403
    assert api_client_for(make_staff(roles.ANALYST)).get("/api/v1/audit").status_code == 200
