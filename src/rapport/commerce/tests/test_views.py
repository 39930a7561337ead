"""Console order pages."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.commerce.services import record_refund, upsert_order

pytestmark = pytest.mark.django_db


def place(system_actor, external_id, customer=None, **extra):
    data = {
        "channel": "web",
        "external_id": external_id,
        "placed_at": "2025-06-18T12:00:00+08:00",
        "lines": [{"sku": "CUP-1", "name": "Tea cup", "quantity": 3, "unit_price": "25.00"}],
        **extra,
    }
    if customer is not None:
        data["customer_id"] = customer.pk
    return upsert_order(data=data, actor=system_actor)[0]


def test_order_list_detail_and_customer_tab(client, make_staff, make_customer, system_actor, store):
    client.force_login(make_staff(roles.OPERATOR))
    customer = make_customer(name="Wu Min")
    order = place(system_actor, "W-1001", customer, store="sh-01")
    record_refund(order, external_id="R-1", amount="25.00", actor=system_actor, reason="chipped")
    place(system_actor, "W-1002")
    listing = client.get("/orders/", {"q": "1001"}).content.decode()
    assert "web:W-1001" in listing and "W-1002" not in listing
    assert "W-1001" in client.get("/orders/", {"store": "sh-01", "status": "partially_refunded"}).content.decode()
    bad = client.get("/orders/", {"status": "lost"}).content.decode()
    assert "status: one of" in bad
    detail = client.get(f"/orders/{order.pk}/").content.decode()
    assert "Tea cup" in detail and "chipped" in detail and "75.00" in detail and "Wu Min" in detail
    tab = client.get(f"/customers/{customer.pk}/", {"tab": "orders"}).content.decode()
    assert "W-1001" in tab
    assert client.get("/orders/999999/").status_code == 404


def test_sales_staff_do_not_see_other_customers_orders(client, make_staff, make_customer, system_actor):
    client.force_login(make_staff(roles.SALES))
    order = place(system_actor, "X-1", make_customer())
    assert "X-1" not in client.get("/orders/").content.decode()
    assert client.get(f"/orders/{order.pk}/").status_code == 404
