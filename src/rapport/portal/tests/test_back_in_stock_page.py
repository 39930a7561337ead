"""The portal's back-in-stock page: a member asks to hear when a sold-out product is back; an
unknown SKU or a product in stock is refused in words, nothing is stored."""

from __future__ import annotations

import pytest

from rapport.commerce import services as commerce
from rapport.inventory import services as inventory
from rapport.inventory.models import StockSubscription

pytestmark = pytest.mark.django_db


def test_a_member_waits_for_a_sold_out_product(member_client, make_customer, system_actor):
    location = inventory.default_location()
    for sku, level in (("TEA-0", 0), ("TEA-5", 5)):
        product = commerce.upsert_product(data={"sku": sku, "name": f"Tea {sku}", "price": "9"}, actor=system_actor)[0]
        inventory.record_movement(product, location, data={"kind": "count", "quantity": level}, actor=system_actor)
    member = make_customer(name="Chen Jing", phone="13700000009")
    client = member_client(member)

    assert client.get("/stock/portal/back-in-stock/?sku=TEA-0").status_code == 200
    assert client.post("/stock/portal/back-in-stock/", {"sku": "NOPE"}).status_code == 422
    refused = client.post("/stock/portal/back-in-stock/", {"sku": "TEA-5"})
    assert refused.status_code == 422 and "in stock" in refused.content.decode()
    assert not StockSubscription.objects.exists()

    response = client.post("/stock/portal/back-in-stock/", {"sku": "TEA-0"}, follow=True)
    assert response.status_code == 200 and "Tea TEA-0" in response.content.decode()
    assert StockSubscription.objects.get().customer_id == member.pk
