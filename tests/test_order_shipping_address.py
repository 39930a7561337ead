"""An order's shipping address is personal data: encrypted at rest, masked on the page and in the
audit log, in the customer's data export, and blanked when the customer is erased."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from rapport.audit.models import AuditEntry
from rapport.commerce import services as commerce_services
from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.privacy import services as privacy_services
from rapport.privacy.tests.scenario import fulfil_now
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS = "上海市浦东新区世纪大道100号"
JSON = "application/json"


def _order(customer_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "shop",
        "external_id": "A-1",
        "customer_id": customer_id,
        "placed_at": "2023-05-01T10:00:00+08:00",
        "lines": [{"sku": "TEA-1", "name": "Tea", "quantity": 1, "unit_price": "30.00"}],
        **extra,
    }


def test_the_api_stores_the_address_encrypted_and_audits_a_change_masked(admin_api: Client, make_customer: Any) -> None:
    customer = make_customer()
    first = admin_api.post("/api/v1/orders", _order(customer.pk, shipping_address=ADDRESS), content_type=JSON)
    assert first.status_code in (200, 201), first.content
    order = Order.objects.get(external_id="A-1")
    assert order.shipping_address == ADDRESS
    with connection.cursor() as cursor:
        cursor.execute("SELECT shipping_address FROM commerce_order WHERE id = %s", [order.pk])
        assert "世纪大道" not in cursor.fetchone()[0]

    moved = admin_api.post(
        "/api/v1/orders", _order(customer.pk, shipping_address="北京市朝阳区建国路1号"), content_type=JSON
    )
    assert moved.status_code == 200, moved.content
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_id=str(order.pk)).get()
    assert entry.changes["shipping_address"] == ["上海市浦东新****", "北京市朝阳区****"]

    too_long = admin_api.post("/api/v1/orders", _order(customer.pk, shipping_address="x" * 501), content_type=JSON)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "shipping_address"


def test_the_order_page_shows_the_address_masked(make_customer: Any, make_staff: Any, system_actor: Actor) -> None:
    customer = make_customer()
    order, _created = commerce_services.upsert_order(
        data=_order(customer.pk, shipping_address=ADDRESS), actor=system_actor
    )
    staff = make_staff("admin")
    client = Client()
    assert client.login(username=staff.username, password=STAFF_PASSWORD)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "上海市浦东新****" in page and "世纪大道" not in page


def test_the_address_is_exported_and_blanked_at_erasure(make_customer: Any, system_actor: Actor) -> None:
    customer = make_customer()
    order, _created = commerce_services.upsert_order(
        data=_order(customer.pk, shipping_address=ADDRESS), actor=system_actor
    )
    [exported] = privacy_services.export_customer(customer)["commerce"]["orders"]
    assert exported["shipping_address"] == ADDRESS

    request = privacy_services.receive_request(customer=customer, kind="erasure", source="email", actor=system_actor)
    request = privacy_services.verify_request(request, method="email_code", note="code", actor=system_actor)
    request = fulfil_now(request, system_actor)
    order.refresh_from_db()
    assert order.shipping_address == "" and str(order.total) == "30.00"  # the order itself stays
    assert request.outcome["commerce"] == {"shipping_addresses": 1}
