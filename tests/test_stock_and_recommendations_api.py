"""The stock and recommendation endpoints: bodies, bad input (422 naming the field, nothing
written), unknown SKUs (404), scopes (403) and customers outside the caller's data scope."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import COMMERCE_READ, CUSTOMERS_READ, INVENTORY_READ, RECOMMENDATIONS_READ
from rapport.commerce import services as commerce
from rapport.inventory.models import StockMovement
from rapport.recommendations.models import Recommendation, RelatedProduct, Rule, TrainingRun

pytestmark = pytest.mark.django_db

JSON = "application/json"


def fields_of(response):
    return {e["field"] for e in response.json()["errors"]}


@pytest.fixture
def tea(system_actor):
    return commerce.upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88"}, actor=system_actor)[0]


def test_stock_levels_movements_and_settings(admin_api, tea):
    moved = admin_api.post(
        "/api/v1/products/TEA-1/stock/movements", {"kind": "receipt", "quantity": 12}, content_type=JSON
    )
    assert moved.status_code == 200 and moved.json()["on_hand"] == 12 and moved.json()["location"] == "warehouse"
    admin_api.post("/api/v1/products/TEA-1/stock/movements", {"quantity": -2, "note": "tasting"}, content_type=JSON)
    settings = admin_api.put(
        "/api/v1/products/TEA-1/stock", {"lead_time_days": 5, "unit_cost": "40.10"}, content_type=JSON
    )
    assert settings.json()["lead_time_days"] == 5 and settings.json()["unit_cost"] == "40.10"
    assert admin_api.get("/api/v1/products/TEA-1/stock").json()["on_hand"] == 10
    ledger = admin_api.get("/api/v1/products/TEA-1/stock/movements").json()
    assert [m["quantity"] for m in ledger["results"]] == [-2, 12]
    listed = admin_api.get("/api/v1/stock", {"status": "in_stock", "q": "TEA-1"}).json()
    assert listed["count"] == 1 and listed["results"][0]["sku"] == "TEA-1"


@pytest.mark.parametrize(
    ("method", "url", "body", "fields"),
    [
        ("post", "/api/v1/products/TEA-1/stock/movements", {"kind": "gift", "quantity": 1}, {"kind"}),
        ("post", "/api/v1/products/TEA-1/stock/movements", {"kind": "count", "quantity": -5}, {"quantity"}),
        ("post", "/api/v1/products/TEA-1/stock/movements", {"quantity": 99999999999}, {"quantity"}),
        (
            "put",
            "/api/v1/products/TEA-1/stock",
            {"lead_time_days": 9999, "currency": "yuan"},
            {"lead_time_days", "currency"},
        ),
        ("put", "/api/v1/products/TEA-1/stock", {"unit_cost": "-1"}, {"unit_cost"}),
    ],
)
def test_bad_stock_input_names_the_field(admin_api, tea, method, url, body, fields):
    response = getattr(admin_api, method)(url, body, content_type=JSON)
    assert response.status_code == 422 and fields_of(response) == fields
    assert not StockMovement.objects.exists()


def test_stock_not_found_and_bad_filters(admin_api, tea):
    assert admin_api.get("/api/v1/products/NOPE/stock").status_code == 404
    missing = admin_api.post(
        "/api/v1/products/TEA-1/stock/movements", {"location": "nowhere", "quantity": 1}, content_type=JSON
    )
    assert missing.status_code == 404 and fields_of(missing) == {"location"}
    bad = admin_api.get("/api/v1/stock", {"status": "plenty", "location": "nowhere"})
    assert bad.status_code == 422 and fields_of(bad) == {"status", "location"}
    assert admin_api.get("/api/v1/stock", {"limit": 100000}).status_code == 422


def test_stock_scopes(admin_user, api_client_for, tea):
    reader = api_client_for(admin_user, scopes=[INVENTORY_READ])
    assert reader.get("/api/v1/stock").status_code == 200
    denied = reader.post("/api/v1/products/TEA-1/stock/movements", {"quantity": 1}, content_type=JSON)
    assert denied.status_code == 403
    assert api_client_for(admin_user, scopes=[COMMERCE_READ]).get("/api/v1/stock").status_code == 403


def test_stock_role_permissions(make_staff, api_client_for, tea):
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert analyst.get("/api/v1/stock").status_code == 200
    assert analyst.post("/api/v1/products/TEA-1/stock/movements", {"quantity": 1}, content_type=JSON).status_code == 403


def test_recommendations_for_a_customer_and_related(admin_api, tea, make_customer, system_actor):
    customer = make_customer(city="上海")
    TrainingRun.objects.create(trained_at="2026-11-30T00:00:00Z", popular={"上海": [tea.pk], "": [tea.pk]})
    body = admin_api.get(f"/api/v1/customers/{customer.pk}/recommendations").json()
    assert body["results"][0]["sku"] == "TEA-1"
    assert body["results"][0]["reason"] == "popular_city" and "上海" in body["results"][0]["reason_text"]
    Rule.objects.create(kind=Rule.Kind.EXCLUDE, product=tea)
    assert admin_api.get(f"/api/v1/customers/{customer.pk}/recommendations").json()["results"] == []
    related = admin_api.get("/api/v1/products/TEA-1/related")
    assert related.status_code == 200 and related.json() == {"sku": "TEA-1", "results": []}


def test_recommendations_bad_input_scope_and_data_scope(
    admin_user, api_client_for, make_staff, make_customer, store, other_store, tea
):
    customer = make_customer(store=other_store.code)
    api = api_client_for(admin_user)
    bad = api.get(f"/api/v1/customers/{customer.pk}/recommendations", {"limit": 0})
    assert bad.status_code == 422 and fields_of(bad) == {"limit"}
    assert api.get("/api/v1/products/TEA-1/related", {"limit": 21}).status_code == 422
    assert api.get("/api/v1/customers/999999/recommendations").status_code == 404
    assert api.get("/api/v1/products/NOPE/related").status_code == 404
    assert api.get(f"/api/v1/customers/{customer.pk}/recommendations", {"limit": "x"}).status_code == 422
    no_scope = api_client_for(admin_user, scopes=[CUSTOMERS_READ, COMMERCE_READ])
    assert no_scope.get(f"/api/v1/customers/{customer.pk}/recommendations").status_code == 403
    assert no_scope.get("/api/v1/products/TEA-1/related").status_code == 403
    staff = api_client_for(make_staff(roles.STORE_STAFF, store=store), scopes=[RECOMMENDATIONS_READ])
    assert staff.get(f"/api/v1/customers/{customer.pk}/recommendations").status_code == 404


def test_a_recommendation_request_is_a_few_queries(
    admin_api, tea, make_customer, system_actor, django_assert_max_num_queries
):
    """The token, the customer with the stored list (and the rules' version), what they bought
    since, the products with their stock: the shop asks at every page view."""
    others = [
        commerce.upsert_product(data={"sku": f"BAG-{n}", "name": f"Bag {n}", "price": "9"}, actor=system_actor)[0]
        for n in range(5)
    ]
    customer = make_customer(city="上海")
    ids = [p.pk for p in others]
    Recommendation.objects.create(
        customer=customer,
        computed_at="2026-11-30T00:00:00Z",
        items={"products": ids, "scores": [1.0] * 5, "reasons": ["bought"] * 5, "because": [tea.pk] * 5},
    )
    for rank, product in enumerate(others):
        RelatedProduct.objects.create(
            product=tea, related=product, kind="together", rank=rank, score=1, support=0.1, confidence=0.5, lift=2
        )
    Rule.objects.create(kind=Rule.Kind.BOOST, product=others[3], weight=10)
    admin_api.get(f"/api/v1/customers/{customer.pk}/recommendations")
    with django_assert_max_num_queries(4):
        body = admin_api.get(f"/api/v1/customers/{customer.pk}/recommendations").json()
    assert [r["sku"] for r in body["results"]][:2] == ["BAG-3", "BAG-0"]
    assert body["results"][0]["because_sku"] == "TEA-1"
    with django_assert_max_num_queries(3):
        related = admin_api.get("/api/v1/products/TEA-1/related").json()["results"]
    assert [r["sku"] for r in related] == [f"BAG-{n}" for n in range(5)]
    assert related[0]["lift"] == 2 and related[0]["confidence"] == 0.5
