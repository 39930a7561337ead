"""The customers API: status codes and bodies for good and bad input; nothing written on error."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.customers.models import Customer, CustomFieldDefinition, Identity, Store
from rapport.customers.services import save_custom_field

pytestmark = pytest.mark.django_db


def fields_of(response):
    return {e["field"] for e in response.json()["errors"]}


def test_create_read_update_delete_a_customer(admin_api):
    created = admin_api.post(
        "/api/v1/customers",
        {
            "name": "王芳",
            "phone": "13912345678",
            "email": "wang.fang@example.com",
            "identities": [{"channel": "web", "external_id": "u-1"}],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["phone"] == "139****5678"
    assert body["email"] == "w***@example.com"
    assert body["identities"] == [{"channel": "web", "external_id": "u-1"}]

    got = admin_api.get(f"/api/v1/customers/{body['id']}")
    assert got.status_code == 200 and got.json()["name"] == "王芳"

    patched = admin_api.patch(f"/api/v1/customers/{body['id']}", {"city": "杭州"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["city"] == "杭州"
    history = admin_api.get(f"/api/v1/customers/{body['id']}/history").json()
    assert history["results"][0]["field"] == "city"
    assert history["results"][0]["new_value"] == "杭州"

    assert admin_api.delete(f"/api/v1/customers/{body['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/customers/{body['id']}").status_code == 404


def test_bad_input_is_422_with_field_paths_and_writes_nothing(admin_api):
    response = admin_api.post(
        "/api/v1/customers",
        {"name": "", "phone": "12", "email": "not-an-email", "birthday": "1990-13-45"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {"phone", "email", "birthday"} <= fields_of(response)
    assert Customer.objects.count() == 0

    unknown = admin_api.post("/api/v1/customers", {"name": "A", "nickname": "x"}, content_type="application/json")
    assert unknown.status_code == 422 and fields_of(unknown) == {"body.nickname"}

    wrong_type = admin_api.post("/api/v1/customers", {"name": ["A"]}, content_type="application/json")
    assert wrong_type.status_code == 422 and fields_of(wrong_type) == {"body.name"}

    not_json = admin_api.post("/api/v1/customers", "{oops", content_type="application/json")
    assert not_json.status_code in (400, 422)
    assert Customer.objects.count() == 0


def test_duplicate_phone_is_a_conflict(admin_api, make_customer):
    make_customer(phone="13912345678")
    response = admin_api.post(
        "/api/v1/customers", {"name": "B", "phone": "+86 139 1234 5678"}, content_type="application/json"
    )
    assert response.status_code == 409 and fields_of(response) == {"phone"}


def test_unknown_ids_are_404(admin_api):
    for url in ["/api/v1/customers/999", "/api/v1/customers/999/notes", "/api/v1/stores/999"]:
        response = admin_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["errors"][0]["code"] == "not_found"
    assert admin_api.patch("/api/v1/customers/999", {}, content_type="application/json").status_code == 404


def test_search_by_phone_email_external_id_and_name(admin_api, make_customer, system_actor):
    from rapport.customers.services import add_identity

    target = make_customer(name="Li Na", phone="13912345678", email="li.na@example.com")
    add_identity(target, channel="tmall", external_id="TM-42", actor=system_actor)
    make_customer(name="Zhang Wei", phone="13800001111")
    for query in ["13912345678", "+8613912345678", "LI.NA@example.com", "TM-42", "li n"]:
        results = admin_api.get("/api/v1/customers", {"q": query}).json()["results"]
        assert [c["id"] for c in results] == [target.pk], query


def test_filters_ordering_and_pagination(admin_api, make_customer, store, system_actor):
    save_custom_field(
        data={"key": "tier", "label": "Tier", "field_type": "choice", "choices": ["gold", "silver"]},
        actor=system_actor,
    )
    save_custom_field(
        data={"key": "hobbies", "label": "Hobbies", "field_type": "multi_choice", "choices": ["tea", "golf"]},
        actor=system_actor,
    )
    gold = make_customer(name="Amy", store="sh-01", custom_fields={"tier": "gold", "hobbies": ["tea", "golf"]})
    make_customer(name="Bob", custom_fields={"tier": "silver", "hobbies": ["golf"]})
    make_customer(name="Cai")

    assert [c["id"] for c in admin_api.get("/api/v1/customers", {"store": "sh-01"}).json()["results"]] == [gold.pk]
    assert [c["id"] for c in admin_api.get("/api/v1/customers", {"cf.tier": "gold"}).json()["results"]] == [gold.pk]
    by_hobby = admin_api.get("/api/v1/customers", {"cf.hobbies": "tea"}).json()["results"]
    assert [c["id"] for c in by_hobby] == [gold.pk]

    page = admin_api.get("/api/v1/customers", {"order_by": "name", "limit": 2}).json()
    assert page["count"] == 3 and [c["name"] for c in page["results"]] == ["Amy", "Bob"]
    page2 = admin_api.get("/api/v1/customers", {"order_by": "-name", "limit": 2, "offset": 2}).json()
    assert [c["name"] for c in page2["results"]] == ["Amy"]

    bad = admin_api.get(
        "/api/v1/customers", {"store": "nowhere", "cf.tier": "platinum", "cf.nope": "1", "member_status": "x"}
    )
    assert bad.status_code == 422
    assert fields_of(bad) == {"store", "cf.tier", "cf.nope", "member_status"}
    assert fields_of(admin_api.get("/api/v1/customers", {"order_by": "phone"})) == {"order_by"}
    assert fields_of(admin_api.get("/api/v1/customers", {"limit": 0})) == {"limit"}
    assert fields_of(admin_api.get("/api/v1/customers", {"limit": "many"})) == {"query.limit"}


def test_bulk_upsert_is_idempotent_and_all_or_nothing(admin_api):
    items = [
        {"channel": "web", "external_id": f"u{i}", "data": {"name": f"Buyer {i}", "phone": f"1391234000{i}"}}
        for i in range(3)
    ]
    first = admin_api.post("/api/v1/customers/bulk", {"items": items}, content_type="application/json")
    assert first.status_code == 200 and first.json()["created"] == 3
    again = admin_api.post("/api/v1/customers/bulk", {"items": items}, content_type="application/json")
    assert again.json() == {**again.json(), "created": 0, "updated": 3}
    assert Customer.objects.count() == 3 and Identity.objects.count() == 3

    mixed = [
        {"channel": "web", "external_id": "new-1", "data": {"name": "New"}},
        {"channel": "web", "external_id": "new-2", "data": {"name": "Bad", "email": "nope"}},
    ]
    response = admin_api.post("/api/v1/customers/bulk", {"items": mixed}, content_type="application/json")
    assert response.status_code == 422 and fields_of(response) == {"items.1.email"}
    assert Customer.objects.count() == 3


def test_reveal_returns_plaintext_and_is_audited(admin_api, make_customer):
    customer = make_customer(phone="13912345678")
    response = admin_api.post(f"/api/v1/customers/{customer.pk}/reveal")
    assert response.status_code == 200 and response.json()["phone"] == "+8613912345678"
    assert AuditEntry.objects.filter(action="reveal", object_id=str(customer.pk)).count() == 1


def test_reveal_needs_the_scope_and_the_permission(api_client_for, make_staff, admin_user, make_customer):
    customer = make_customer(phone="13912345678")
    no_scope = api_client_for(admin_user, scopes=["customers:read"])
    assert no_scope.post(f"/api/v1/customers/{customer.pk}/reveal").status_code == 403
    analyst = api_client_for(make_staff(roles.ANALYST))
    response = analyst.post(f"/api/v1/customers/{customer.pk}/reveal")
    assert response.status_code == 403 and fields_of(response) == {"permission"}
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_missing_or_bad_token_is_401(client, make_customer):
    assert client.get("/api/v1/customers").status_code == 401
    response = client.get("/api/v1/customers", headers={"Authorization": "Bearer rpt_nope_nope"})
    assert response.status_code == 401 and fields_of(response) == {"Authorization"}


def test_notes_identities_owner_and_addresses(admin_api, make_customer, make_staff):
    customer = make_customer()
    base = f"/api/v1/customers/{customer.pk}"
    note = admin_api.post(f"{base}/notes", {"body": "Prefers calls after 6pm"}, content_type="application/json")
    assert note.status_code == 201
    assert admin_api.get(f"{base}/notes").json()[0]["body"] == "Prefers calls after 6pm"
    assert admin_api.post(f"{base}/notes", {"body": "  "}, content_type="application/json").status_code == 422

    assert (
        admin_api.post(
            f"{base}/identities", {"channel": "wechat", "external_id": "o-1"}, content_type="application/json"
        ).status_code
        == 201
    )
    other = make_customer()
    clash = admin_api.post(
        f"/api/v1/customers/{other.pk}/identities",
        {"channel": "wechat", "external_id": "o-1"},
        content_type="application/json",
    )
    assert clash.status_code == 409

    seller = make_staff(roles.SALES, username="seller")
    owned = admin_api.put(f"{base}/owner", {"owner": "seller"}, content_type="application/json")
    assert owned.status_code == 200 and owned.json()["owner"] == "seller"
    assert Customer.objects.get(pk=customer.pk).owner == seller
    nobody = admin_api.put(f"{base}/owner", {"owner": "ghost"}, content_type="application/json")
    assert nobody.status_code == 422 and fields_of(nobody) == {"owner"}

    address = admin_api.post(
        f"{base}/addresses",
        {"city": "上海", "line1": "南京西路 1号", "phone": "13912345678"},
        content_type="application/json",
    )
    assert address.status_code == 201 and address.json()["is_default"] is True
    assert address.json()["line1"] == "****" and address.json()["phone"] == "139****5678"
    address_url = f"{base}/addresses/{address.json()['id']}"
    assert admin_api.patch(address_url, {"line1": ""}, content_type="application/json").status_code == 422
    assert admin_api.patch(address_url, {"postal_code": "200000"}, content_type="application/json").status_code == 200
    assert admin_api.delete(address_url).status_code == 204
    assert admin_api.delete(address_url).status_code == 404


def test_customers_with_orders_cannot_be_deleted(admin_api, make_customer, system_actor):
    from rapport.commerce.services import upsert_order

    customer = make_customer()
    upsert_order(
        data={
            "channel": "web",
            "external_id": "o1",
            "customer_id": customer.pk,
            "placed_at": "2025-01-01",
            "lines": [{"sku": "X", "name": "X", "quantity": 1, "unit_price": "10"}],
        },
        actor=system_actor,
    )
    response = admin_api.delete(f"/api/v1/customers/{customer.pk}")
    assert response.status_code == 409 and Customer.objects.filter(pk=customer.pk).exists()


def test_stores_and_custom_fields(admin_api):
    created = admin_api.post(
        "/api/v1/stores",
        {"code": "gz-01", "name": "广州天河店", "time_zone": "Asia/Shanghai"},
        content_type="application/json",
    )
    assert created.status_code == 201
    bad = admin_api.post(
        "/api/v1/stores", {"code": "gz 01", "name": "", "time_zone": "Mars/Base"}, content_type="application/json"
    )
    assert bad.status_code == 422 and fields_of(bad) == {"code", "name", "time_zone"}
    assert Store.objects.count() == 1
    patched = admin_api.patch(
        f"/api/v1/stores/{created.json()['id']}", {"city": "广州"}, content_type="application/json"
    )
    assert patched.json()["city"] == "广州"
    too_long = admin_api.patch(
        f"/api/v1/stores/{created.json()['id']}", {"city": "x" * 81}, content_type="application/json"
    )
    assert too_long.status_code == 422 and fields_of(too_long) == {"city"}

    field = admin_api.post(
        "/api/v1/custom-fields",
        {"key": "shoe_size", "label": "Shoe size", "field_type": "integer"},
        content_type="application/json",
    )
    assert field.status_code == 201
    retype = admin_api.patch("/api/v1/custom-fields/shoe_size", {"field_type": "text"}, content_type="application/json")
    assert retype.status_code == 422 and fields_of(retype) == {"field_type"}
    assert admin_api.patch("/api/v1/custom-fields/nope", {}, content_type="application/json").status_code == 404
    wordy = admin_api.patch(
        "/api/v1/custom-fields/shoe_size", {"label": "x" * 101, "help_text": "y" * 201}, content_type="application/json"
    )
    assert wordy.status_code == 422 and fields_of(wordy) == {"label", "help_text"}
    assert CustomFieldDefinition.objects.get().field_type == "integer"

    customer = admin_api.post(
        "/api/v1/customers", {"name": "X", "custom_fields": {"shoe_size": "forty"}}, content_type="application/json"
    )
    assert customer.status_code == 422 and fields_of(customer) == {"custom_fields.shoe_size"}


def test_openapi_docs_are_served(client):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/customers" in schema["paths"] and "/api/v1/orders" in schema["paths"]


def test_a_customer_referred_by_staff_records_the_recruiter_and_their_store(admin_api, make_staff, store):
    from rapport.customers.models import Customer

    seller = make_staff("sales", store=store, username="referrer")
    created = admin_api.post(
        "/api/v1/customers", {"name": "韩梅梅", "recruited_by": "referrer"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    customer = Customer.objects.get(pk=created.json()["id"])
    assert (customer.recruited_by, customer.recruited_at) == (seller, store)
    unknown = admin_api.post(
        "/api/v1/customers", {"name": "李雷", "recruited_by": "nobody"}, content_type="application/json"
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "recruited_by"
    assert not Customer.objects.filter(name="李雷").exists()
