"""The ``back_in_stock`` journey trigger: a customer waiting for a sold-out product (from the
portal or a tracked event) enters the journey once, when stock returns."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rapport.campaigns.journeys import triggers
from rapport.campaigns.models import Enrollment
from rapport.commerce import services as commerce
from rapport.core.errors import InvalidInput
from rapport.events.signals import events_recorded
from rapport.inventory import services as inventory
from rapport.inventory.models import StockSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold_out(system_actor):
    product = commerce.upsert_product(data={"sku": "TEA-9", "name": "Longjing", "price": "88"}, actor=system_actor)[0]
    inventory.record_movement(
        product, inventory.default_location(), data={"kind": "count", "quantity": 0}, actor=system_actor
    )
    return product


def test_back_in_stock_enters_the_journey_once(make_plan, make_template, launch, make_member, sold_out, system_actor):
    site = make_template("site", subject="Back", body="{{ customer.name }}, it is back")
    plan = launch(
        make_plan(
            kind="journey",
            segment=None,
            trigger={"type": "back_in_stock"},
            steps=[
                {
                    "kind": "send",
                    "config": {"channel": "site", "purpose": "service", "variants": [{"template": site.pk}]},
                }
            ],
        )
    )
    customer = make_member()
    inventory.subscribe_back_in_stock(customer.pk, sold_out, source="portal")
    assert (
        inventory.subscribe_back_in_stock(customer.pk, sold_out, source="portal").pk
        == StockSubscription.objects.get().pk
    )
    triggers.scan_all()
    assert not Enrollment.objects.filter(plan=plan).exists()  # still sold out

    location = inventory.default_location()
    inventory.record_movement(sold_out, location, data={"kind": "receipt", "quantity": 5}, actor=system_actor)
    inventory.record_movement(sold_out, location, data={"kind": "receipt", "quantity": 5}, actor=system_actor)
    triggers.scan_all()
    triggers.scan_all()
    entered = Enrollment.objects.get(plan=plan)
    assert entered.customer_id == customer.pk and entered.context["product_sku"] == "TEA-9"
    assert StockSubscription.objects.get().returned_at is not None


def test_products_in_stock_cannot_be_waited_for(make_member, sold_out, system_actor):
    inventory.record_movement(sold_out, inventory.default_location(), data={"quantity": 2}, actor=system_actor)
    with pytest.raises(InvalidInput) as caught:
        inventory.subscribe_back_in_stock(make_member().pk, sold_out, source="portal")
    assert caught.value.errors[0].field == "sku"
    assert not StockSubscription.objects.exists()


def test_a_tracked_request_subscribes_and_unknown_skus_are_passed_over(make_member, sold_out):
    customer = make_member()
    asked = SimpleNamespace(
        customer_id=customer.pk, name="Back In Stock Requested", message_id="m-1", properties={"sku": "TEA-9"}
    )
    unknown = SimpleNamespace(
        customer_id=customer.pk, name="Back In Stock Requested", message_id="m-2", properties={"sku": "NOPE"}
    )
    events_recorded.send(sender=None, source=None, messages=[asked, unknown, asked])
    subscription = StockSubscription.objects.get()
    assert subscription.customer_id == customer.pk and subscription.source == "tracking"
