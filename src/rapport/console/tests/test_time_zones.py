"""Times are stored in UTC and shown in the viewer's store's zone."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.commerce.services import upsert_order
from rapport.customers.services import create_store

pytestmark = pytest.mark.django_db


def test_store_staff_see_their_store_time_and_others_the_default(client, make_staff, make_customer, system_actor):
    urumqi = create_store(data={"code": "xj-01", "name": "乌鲁木齐店", "time_zone": "Asia/Urumqi"}, actor=system_actor)
    customer = make_customer(store="xj-01")
    order, _ = upsert_order(
        data={
            "channel": "pos",
            "external_id": "T-1",
            "customer_id": customer.pk,
            "store": "xj-01",
            "placed_at": "2025-03-01T10:00:00Z",
            "lines": [{"sku": "A", "name": "A", "quantity": 1, "unit_price": "1"}],
        },
        actor=system_actor,
    )
    client.force_login(make_staff(roles.STORE_STAFF, store=urumqi))
    assert "2025-03-01 16:00" in client.get(f"/orders/{order.pk}/").content.decode()  # UTC+6
    client.force_login(make_staff(roles.OPERATOR))
    assert "2025-03-01 18:00" in client.get(f"/orders/{order.pk}/").content.decode()  # Asia/Shanghai
