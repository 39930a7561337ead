"""The stock ledger: levels move only by movements, live orders and refunds move stock, the level
always equals the sum of the ledger, and bad input names its field."""

from __future__ import annotations

import pytest

from rapport.commerce import services as commerce
from rapport.commerce.models import Product
from rapport.core.errors import InvalidInput
from rapport.inventory import services
from rapport.inventory.models import MovementKind, StockItem, StockMovement
from rapport.inventory.queries import with_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def tea(system_actor):
    return commerce.upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88"}, actor=system_actor)[0]


def an_order(store, customer, *, quantity=2, external_id="o-1", status="paid"):
    return {
        "channel": "web",
        "external_id": external_id,
        "customer_id": customer.pk,
        "store": store.code,
        "status": status,
        "placed_at": "2026-11-11T10:00:00+08:00",
        "lines": [{"sku": "TEA-1", "quantity": quantity, "unit_price": "88"}],
    }


def test_receipt_adjustment_and_count_keep_the_ledger(tea, system_actor):
    warehouse = services.default_location()
    services.record_movement(tea, warehouse, data={"kind": "receipt", "quantity": 10}, actor=system_actor)
    services.record_movement(
        tea, warehouse, data={"kind": "adjustment", "quantity": -3, "note": "broken"}, actor=system_actor
    )
    item = services.record_movement(tea, warehouse, data={"kind": "count", "quantity": 5}, actor=system_actor)
    assert item.on_hand == 5
    assert list(StockMovement.objects.order_by("pk").values_list("kind", "quantity")) == [
        ("receipt", 10),
        ("adjustment", -3),
        ("count", -2),
    ]
    assert services.ledger_drift() == []


def test_movements_are_append_only(tea, system_actor):
    services.record_movement(tea, services.default_location(), data={"quantity": 4}, actor=system_actor)
    movement = StockMovement.objects.get()
    with pytest.raises(ValueError):
        movement.save()
    with pytest.raises(ValueError):
        movement.delete()


def test_live_orders_cancellations_and_refunds_move_stock(tea, store, make_customer, system_actor):
    customer = make_customer()
    location = services.location_for_store(store)
    services.record_movement(tea, location, data={"kind": "receipt", "quantity": 10}, actor=system_actor)
    order, _ = commerce.upsert_order(data=an_order(store, customer), actor=system_actor)
    item = StockItem.objects.get(product=tea, location=location)
    assert item.on_hand == 8
    commerce.upsert_order(data=an_order(store, customer, quantity=3), actor=system_actor)  # lines changed
    assert StockItem.objects.get(pk=item.pk).on_hand == 7
    commerce.upsert_order(data=an_order(store, customer, quantity=3), actor=system_actor)  # sent again: no change
    assert StockMovement.objects.filter(order=order).count() == 2
    commerce.record_refund(order, external_id="r-1", amount="264", actor=system_actor)  # wholly refunded
    assert StockItem.objects.get(pk=item.pk).on_hand == 10
    kinds = list(StockMovement.objects.filter(order=order).order_by("pk").values_list("kind", flat=True))
    assert kinds == [MovementKind.SALE, MovementKind.SALE, MovementKind.RETURN]
    other, _ = commerce.upsert_order(data=an_order(store, customer, external_id="o-2"), actor=system_actor)
    commerce.set_order_status(other, status="cancelled", actor=system_actor)
    assert StockItem.objects.get(pk=item.pk).on_hand == 10
    assert services.ledger_drift() == []


def test_untracked_products_and_pending_orders_move_nothing(tea, store, make_customer, system_actor):
    customer = make_customer()
    commerce.upsert_order(data=an_order(store, customer), actor=system_actor)
    assert not StockMovement.objects.exists()  # no stock kept for the product
    services.record_movement(
        tea, services.default_location(), data={"kind": "receipt", "quantity": 1}, actor=system_actor
    )
    commerce.upsert_order(data=an_order(store, customer, external_id="o-2", status="pending"), actor=system_actor)
    assert StockMovement.objects.count() == 1


def out_of_stock_product_ids() -> set[int]:
    return set(with_stock(Product.objects.all()).filter(out_of_stock=True).values_list("pk", flat=True))


def test_out_of_stock_sums_every_location(tea, store, system_actor):
    other = commerce.upsert_product(data={"sku": "TEA-2", "name": "Pu'er", "price": "50"}, actor=system_actor)[0]
    services.record_movement(
        tea, services.location_for_store(store), data={"kind": "count", "quantity": 0}, actor=system_actor
    )
    services.set_item(tea, services.default_location(), data={"lead_time_days": 3}, actor=system_actor)
    assert out_of_stock_product_ids() == {tea.pk}
    services.record_movement(
        tea, services.default_location(), data={"kind": "receipt", "quantity": 2}, actor=system_actor
    )
    assert out_of_stock_product_ids() == set()
    assert other.pk not in out_of_stock_product_ids()  # not kept here: counts as available


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"kind": "steal", "quantity": 1}, {"kind"}),
        ({"kind": "receipt"}, {"quantity"}),
        ({"kind": "count", "quantity": -1}, {"quantity"}),
        ({"quantity": "many"}, {"quantity"}),
        ({"quantity": 1, "note": "x" * 201}, {"note"}),
        ({"quantity": 1, "price": 3}, {"price"}),
        ({"kind": "receipt", "quantity": -2}, {"quantity"}),
        ({"quantity": 0}, {"quantity"}),
    ],
)
def test_bad_movements_name_the_field_and_write_nothing(tea, system_actor, data, fields):
    with pytest.raises(InvalidInput) as caught:
        services.record_movement(tea, services.default_location(), data=data, actor=system_actor)
    assert {e.field for e in caught.value.errors} == fields
    assert not StockMovement.objects.exists()


def test_settings_are_checked(tea, system_actor):
    with pytest.raises(InvalidInput) as caught:
        services.set_item(
            tea, services.default_location(), data={"lead_time_days": -1, "unit_cost": "x"}, actor=system_actor
        )
    assert {e.field for e in caught.value.errors} == {"lead_time_days", "unit_cost"}
    item = services.set_item(
        tea,
        services.default_location(),
        data={"lead_time_days": 10, "reorder_quantity": 50, "unit_cost": "41.5"},
        actor=system_actor,
    )
    assert (item.lead_time_days, item.reorder_quantity, str(item.unit_cost)) == (10, 50, "41.50")
    assert Product.objects.count() == 1
