from decimal import Decimal

import pytest

from rapport.audit.models import AuditEntry
from rapport.commerce import services
from rapport.commerce.models import CustomerStats, Order, OrderLine, OrderStatus, Product, Refund
from rapport.commerce.stats import stats_match_orders
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers import services as customer_services


@pytest.fixture
def shopper(db, system_actor):
    customer, _ = customer_services.upsert_customer(
        channel="web", external_id="u1", data={"name": "Zhao Lei"}, actor=system_actor
    )
    return customer


@pytest.fixture
def tea(db, system_actor):
    category = services.save_category(data={"code": "tea", "name": "Tea"}, actor=system_actor)
    product, _ = services.upsert_product(
        data={"sku": "TEA-1", "name": "Longjing 250g", "price": "128.00", "category": "tea"},
        actor=system_actor,
    )
    assert product.category == category
    return product


def order_data(external_id="o-1", **overrides):
    data = {
        "channel": "web",
        "external_id": external_id,
        "customer_external_id": "u1",
        "placed_at": "2025-06-18T10:00:00+08:00",
        "lines": [{"sku": "TEA-1", "quantity": 2}],
    }
    data.update(overrides)
    return data


def test_order_totals_come_from_lines_and_catalogue_prices(shopper, tea, system_actor):
    order, created = services.upsert_order(data=order_data(shipping_total="10.00"), actor=system_actor)
    assert created
    assert order.subtotal == Decimal("256.00") and order.total == Decimal("266.00")
    line = order.lines.get()
    assert (line.product, line.name, line.line_total) == (tea, "Longjing 250g", Decimal("256.00"))
    assert order.customer == shopper
    assert order.placed_at.isoformat() == "2025-06-18T02:00:00+00:00"


def test_stats_follow_every_order_write(shopper, tea, system_actor):
    services.upsert_order(data=order_data("o-1"), actor=system_actor)
    services.upsert_order(
        data=order_data("o-2", placed_at="2025-11-11T00:10:00+08:00", lines=[{"sku": "TEA-1", "quantity": 1}]),
        actor=system_actor,
    )
    stats = CustomerStats.objects.get(customer=shopper)
    assert stats.order_count == 2
    assert stats.total_spent == Decimal("384.00")
    assert stats.average_order_value == Decimal("192.00")
    assert stats.first_order_at.date().isoformat() == "2025-06-18"
    assert stats.last_order_at.isoformat().startswith("2025-11-10T16:10")


def test_same_order_sent_twice_is_stored_once(shopper, tea, system_actor):
    first, _ = services.upsert_order(data=order_data(), actor=system_actor)
    again, created = services.upsert_order(data=order_data(), actor=system_actor)
    assert not created and again.pk == first.pk
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1
    assert CustomerStats.objects.get(customer=shopper).order_count == 1
    assert AuditEntry.objects.filter(object_type="commerce.order").count() == 1


def test_an_updated_order_replaces_its_lines_and_stats(shopper, tea, system_actor):
    services.upsert_order(data=order_data(), actor=system_actor)
    order, _ = services.upsert_order(data=order_data(lines=[{"sku": "TEA-1", "quantity": 5}]), actor=system_actor)
    assert order.lines.get().quantity == 5 and order.total == Decimal("640.00")
    assert CustomerStats.objects.get(customer=shopper).total_spent == Decimal("640.00")


def test_cancelled_and_pending_orders_do_not_count(shopper, tea, system_actor):
    services.upsert_order(data=order_data("o-1", status="cancelled"), actor=system_actor)
    services.upsert_order(data=order_data("o-2", status="pending"), actor=system_actor)
    assert CustomerStats.objects.get(customer=shopper).order_count == 0


def test_cancelling_an_order_takes_it_out_of_the_stats(shopper, tea, system_actor):
    order, _ = services.upsert_order(data=order_data(), actor=system_actor)
    services.set_order_status(order, status=OrderStatus.CANCELLED, actor=system_actor)
    assert CustomerStats.objects.get(customer=shopper).order_count == 0


def test_bad_order_names_each_bad_field_and_writes_nothing(shopper, tea, system_actor):
    with pytest.raises(InvalidInput) as excinfo:
        services.upsert_order(
            data=order_data(
                customer_external_id="nobody",
                placed_at="yesterday",
                status="lost",
                lines=[{"sku": "NEW", "quantity": 0, "unit_price": "-1"}],
            ),
            actor=system_actor,
        )
    fields = {e.field for e in excinfo.value.errors}
    assert {"customer_external_id", "placed_at", "status", "lines.0.quantity", "lines.0.unit_price"} <= fields
    assert Order.objects.count() == 0


def test_money_refuses_more_than_two_decimals_and_floats_are_read_exactly(shopper, tea, system_actor):
    with pytest.raises(InvalidInput):
        services.upsert_order(
            data=order_data(lines=[{"sku": "X", "name": "x", "quantity": 1, "unit_price": "1.005"}]),
            actor=system_actor,
        )
    order, _ = services.upsert_order(
        data=order_data(lines=[{"sku": "X", "name": "x", "quantity": 3, "unit_price": 0.1}]),
        actor=system_actor,
    )
    assert order.total == Decimal("0.30")


def test_partial_then_full_refund_moves_status_and_stats(shopper, tea, system_actor):
    order, _ = services.upsert_order(data=order_data(), actor=system_actor)
    services.record_refund(order, external_id="r-1", amount="56.00", reason="damaged box", actor=system_actor)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_total == Decimal("56.00")
    stats = CustomerStats.objects.get(customer=shopper)
    assert (stats.net_spent, stats.total_refunded, stats.refund_count) == (
        Decimal("200.00"),
        Decimal("56.00"),
        1,
    )
    services.record_refund(order, external_id="r-2", amount="200.00", actor=system_actor)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert stats_match_orders(shopper.pk)


def test_the_same_refund_twice_is_recorded_once(shopper, tea, system_actor):
    order, _ = services.upsert_order(data=order_data(), actor=system_actor)
    first, created = services.record_refund(order, external_id="r-1", amount="10.00", actor=system_actor)
    again, created_again = services.record_refund(order, external_id="r-1", amount="10.00", actor=system_actor)
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(Conflict):
        services.record_refund(order, external_id="r-1", amount="11.00", actor=system_actor)
    order.refresh_from_db()
    assert order.refunded_total == Decimal("10.00")


def test_refunds_cannot_exceed_what_was_paid(shopper, tea, system_actor):
    order, _ = services.upsert_order(data=order_data(), actor=system_actor)
    with pytest.raises(Conflict):
        services.record_refund(order, external_id="r-1", amount="256.01", actor=system_actor)
    with pytest.raises(InvalidInput):
        services.record_refund(order, external_id="r-2", amount="0", actor=system_actor)
    assert not Refund.objects.exists()


def test_unpaid_orders_cannot_be_refunded(shopper, tea, system_actor):
    order, _ = services.upsert_order(data=order_data(status="pending"), actor=system_actor)
    with pytest.raises(Conflict):
        services.record_refund(order, external_id="r-1", amount="1.00", actor=system_actor)


def test_product_upsert_by_sku_updates_in_place(tea, system_actor):
    product, created = services.upsert_product(
        data={"sku": "TEA-1", "name": "Longjing 250g", "price": "138.00"}, actor=system_actor
    )
    assert not created and product.pk == tea.pk and product.price == Decimal("138.00")
    assert Product.objects.count() == 1


def test_a_category_cannot_become_its_own_ancestor(db, system_actor):
    parent = services.save_category(data={"code": "drinks", "name": "Drinks"}, actor=system_actor)
    child = services.save_category(data={"code": "tea", "name": "Tea", "parent": "drinks"}, actor=system_actor)
    with pytest.raises(InvalidInput):
        services.save_category(data={"parent": "tea"}, actor=system_actor, instance=parent)
    assert child.parent == parent


def test_deferred_stats_refresh_once_on_exit_and_stay_right(make_customer, system_actor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.commerce.stats import deferred_stats

    customer = make_customer()
    with CaptureQueriesContext(connection) as queries, deferred_stats():
        for n in range(3):
            services.upsert_order(
                data={
                    "channel": "web",
                    "external_id": f"d{n}",
                    "customer_id": customer.pk,
                    "placed_at": "2025-01-01",
                    "lines": [{"sku": "S", "name": "S", "quantity": 1, "unit_price": "10"}],
                },
                actor=system_actor,
            )
        assert not CustomerStats.objects.filter(customer=customer).exists()  # not yet: deferred
    # one refresh = one order aggregate (SUM of totals) and one refund count, instead of one per order
    aggregates = [q for q in queries.captured_queries if 'SUM("commerce_order"."total")' in q["sql"]]
    assert len(aggregates) == 1
    assert CustomerStats.objects.get(customer=customer).order_count == 3 and stats_match_orders(customer.pk)
