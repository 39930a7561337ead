"""The 360 Timeline as staff see it: a customer who has only bought has a timeline too."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.commerce import services as commerce

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_orders_and_refunds_show_on_the_timeline(page, sign_in, make_staff, make_customer, system_actor):
    make_staff(roles.OPERATOR, username="ops")
    customer = make_customer(name="周敏 Zhou Min")
    order, _created = commerce.upsert_order(
        data={
            "channel": "web",
            "external_id": "W20261201001",
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": (timezone.now() - dt.timedelta(days=3)).isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Longjing", "quantity": 2, "unit_price": "88.00"}],
        },
        actor=system_actor,
    )
    commerce.record_refund(order, external_id="RF-9", amount="88.00", actor=system_actor, reason="尺码不合适")

    sign_in("ops")
    page.goto(f"/customers/{customer.pk}/?tab=timeline")
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-kind") == "refund" and "尺码不合适" in rows.nth(0).inner_text()
    assert rows.nth(1).get_attribute("data-kind") == "order" and "W20261201001" in rows.nth(1).inner_text()
    assert "No events." not in page.content()
    rows.nth(1).get_by_role("link", name="W20261201001").click()
    page.wait_for_url(f"**/orders/{order.pk}/")
