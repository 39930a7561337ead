"""The commerce API: catalogue, idempotent orders and refunds, bulk upserts, bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.commerce.models import Category, CustomerStats, Order, Product, Refund

pytestmark = pytest.mark.django_db

JSON = "application/json"


def fields_of(response):
    return {e["field"] for e in response.json()["errors"]}


def an_order(external_id="o-1", **extra):
    order = {
        "channel": "web",
        "external_id": external_id,
        "placed_at": "2025-11-11T10:00:00+08:00",
        "lines": [{"sku": "TEA-1", "name": "Longjing tea", "quantity": 2, "unit_price": "88.50"}],
    }
    order.update(extra)
    return order


def test_categories_and_products(admin_api):
    assert admin_api.post("/api/v1/categories", {"code": "tea", "name": "茶"}, content_type=JSON).status_code == 201
    child = admin_api.post(
        "/api/v1/categories", {"code": "green-tea", "name": "绿茶", "parent": "tea"}, content_type=JSON
    )
    assert child.json()["parent"] == "tea"
    cycle = admin_api.patch("/api/v1/categories/tea", {"parent": "green-tea"}, content_type=JSON)
    assert cycle.status_code == 422 and fields_of(cycle) == {"parent"}
    assert admin_api.patch("/api/v1/categories/nope", {"name": "x"}, content_type=JSON).status_code == 404

    created = admin_api.post(
        "/api/v1/products",
        {"sku": "TEA-1", "name": "Longjing", "price": "88.50", "category": "green-tea"},
        content_type=JSON,
    )
    assert created.status_code == 201 and created.json()["price"] == "88.50"
    again = admin_api.post(
        "/api/v1/products", {"sku": "TEA-1", "name": "Longjing 250g", "price": "88.50"}, content_type=JSON
    )
    assert again.status_code == 200 and Product.objects.count() == 1
    assert admin_api.get("/api/v1/products/TEA-1").json()["name"] == "Longjing 250g"
    assert admin_api.get("/api/v1/products/NOPE").status_code == 404
    bad = admin_api.post("/api/v1/products", {"sku": "", "name": "X", "price": "-3"}, content_type=JSON)
    assert bad.status_code == 422 and fields_of(bad) == {"sku", "price"}
    listed = admin_api.get("/api/v1/products", {"category": "green-tea"}).json()
    assert listed["count"] == 1
    assert admin_api.patch("/api/v1/products/TEA-1", {"price": "90"}, content_type=JSON).json()["price"] == "90.00"


def test_order_upsert_is_idempotent_and_keeps_stats(admin_api, make_customer, system_actor):
    from rapport.customers.services import add_identity

    customer = make_customer()
    add_identity(customer, channel="web", external_id="shop-7", actor=system_actor)
    first = admin_api.post("/api/v1/orders", an_order(customer_external_id="shop-7"), content_type=JSON)
    assert first.status_code == 201, first.content
    assert first.json()["total"] == "177.00" and first.json()["customer_id"] == customer.pk
    again = admin_api.post("/api/v1/orders", an_order(customer_external_id="shop-7"), content_type=JSON)
    assert again.status_code == 200 and Order.objects.count() == 1
    stats = CustomerStats.objects.get(customer=customer)
    assert stats.order_count == 1 and stats.total_spent == Decimal("177.00")

    order_id = first.json()["id"]
    refund = admin_api.post(
        f"/api/v1/orders/{order_id}/refunds",
        {"external_id": "r-1", "amount": "77.00", "reason": "damaged"},
        content_type=JSON,
    )
    assert refund.status_code == 201
    assert (
        admin_api.post(
            f"/api/v1/orders/{order_id}/refunds", {"external_id": "r-1", "amount": "77.00"}, content_type=JSON
        ).status_code
        == 200
    )
    too_much = admin_api.post(
        f"/api/v1/orders/{order_id}/refunds", {"external_id": "r-2", "amount": "500"}, content_type=JSON
    )
    assert too_much.status_code == 409 and fields_of(too_much) == {"amount"}
    assert Refund.objects.count() == 1
    body = admin_api.get(f"/api/v1/orders/{order_id}").json()
    assert body["status"] == "partially_refunded" and body["refunded_total"] == "77.00"
    assert CustomerStats.objects.get(customer=customer).net_spent == Decimal("100.00")


def test_bad_orders_are_422_and_write_nothing(admin_api):
    response = admin_api.post(
        "/api/v1/orders",
        an_order(
            placed_at="yesterday",
            status="shipped-ish",
            customer_external_id="ghost",
            lines=[{"sku": "A", "quantity": 0, "unit_price": "x"}],
        ),
        content_type=JSON,
    )
    assert response.status_code == 422
    assert {"placed_at", "status", "customer_external_id"} <= fields_of(response)
    assert any(f.startswith("lines.0.") for f in fields_of(response))
    missing = admin_api.post("/api/v1/orders", {"channel": "web"}, content_type=JSON)
    assert missing.status_code == 422 and {"body.external_id", "body.placed_at", "body.lines"} <= fields_of(missing)
    assert Order.objects.count() == 0
    assert admin_api.get("/api/v1/orders/12345").status_code == 404
    assert (
        admin_api.post(
            "/api/v1/orders/12345/refunds", {"external_id": "r", "amount": "1"}, content_type=JSON
        ).status_code
        == 404
    )


def test_bulk_orders_all_or_nothing(admin_api):
    good = [an_order(f"b-{i}") for i in range(5)]
    response = admin_api.post("/api/v1/orders/bulk", {"items": good}, content_type=JSON)
    assert response.status_code == 200 and response.json()["created"] == 5
    mixed = [an_order("b-new"), an_order("b-bad", placed_at="not a date")]
    failed = admin_api.post("/api/v1/orders/bulk", {"items": mixed}, content_type=JSON)
    assert failed.status_code == 422 and fields_of(failed) == {"items.1.placed_at"}
    assert Order.objects.count() == 5
    too_many = admin_api.post(
        "/api/v1/products/bulk",
        {"items": [{"sku": f"S{i}", "name": "x", "price": 1} for i in range(1001)]},
        content_type=JSON,
    )
    assert too_many.status_code == 422 and fields_of(too_many) == {"items"}
    assert Product.objects.count() == 0


def test_order_list_filters_and_status_changes(admin_api, store):
    admin_api.post("/api/v1/orders", an_order("a", store="sh-01"), content_type=JSON)
    admin_api.post("/api/v1/orders", an_order("b", placed_at="2024-01-01T00:00:00Z"), content_type=JSON)
    assert admin_api.get("/api/v1/orders", {"store": "sh-01"}).json()["count"] == 1
    assert admin_api.get("/api/v1/orders", {"placed_after": "2025-01-01"}).json()["count"] == 1
    listed = admin_api.get("/api/v1/orders", {"order_by": "placed_at"}).json()["results"]
    assert [o["external_id"] for o in listed] == ["b", "a"]
    bad = admin_api.get("/api/v1/orders", {"status": "lost", "placed_after": "soon", "store": "x"})
    assert bad.status_code == 422 and fields_of(bad) == {"status", "placed_after", "store"}
    order_id = listed[0]["id"]
    cancelled = admin_api.post(f"/api/v1/orders/{order_id}/status", {"status": "cancelled"}, content_type=JSON)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    wrong = admin_api.post(f"/api/v1/orders/{order_id}/status", {"status": "refunded"}, content_type=JSON)
    assert wrong.status_code == 422
    assert Category.objects.count() == 0


def test_commerce_scopes_are_enforced(api_client_for, admin_user):
    reader = api_client_for(admin_user, scopes=["commerce:read"])
    assert reader.get("/api/v1/orders").status_code == 200
    response = reader.post("/api/v1/orders", an_order(), content_type=JSON)
    assert response.status_code == 403 and fields_of(response) == {"scope"}
    assert Order.objects.count() == 0


def test_an_order_carries_its_carrier_and_tracking_number(admin_api):
    created = admin_api.post(
        "/api/v1/orders",
        an_order(carrier="顺丰", tracking_number="SF1234567890", shipped_at="2026-03-01T08:00:00Z", status="shipped"),
        content_type=JSON,
    )
    assert created.status_code in (200, 201), created.content
    body = created.json()
    assert body["carrier"] == "顺丰" and body["tracking_number"] == "SF1234567890" and body["shipped_at"]
    bad = admin_api.post(
        "/api/v1/orders",
        an_order("o-2", tracking_number="x" * 61, shipped_at="soon"),
        content_type=JSON,
    )
    assert bad.status_code == 422 and {"tracking_number", "shipped_at"} <= fields_of(bad)
    assert Order.objects.count() == 1
