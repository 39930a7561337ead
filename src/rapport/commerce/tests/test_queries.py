"""What other apps read of orders: which count as purchases, and revenue net of refunds."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from rapport.commerce import queries, services
from rapport.commerce.models import Order, OrderLine
from rapport.commerce.tests.test_services import order_data, shopper, tea  # noqa: F401 (fixtures)


def test_counted_orders_and_net_revenue(shopper, tea, system_actor):  # noqa: F811
    paid, _ = services.upsert_order(data=order_data("o-1", status="paid"), actor=system_actor)
    services.upsert_order(data=order_data("o-2", status="pending"), actor=system_actor)
    services.upsert_order(data=order_data("o-3", status="cancelled"), actor=system_actor)
    services.record_refund(paid, external_id="r-1", amount="56.00", actor=system_actor)

    assert list(Order.objects.counted().values_list("external_id", flat=True)) == ["o-1"]
    assert all(order.is_counted == (order.external_id == "o-1") for order in Order.objects.all())
    assert OrderLine.objects.filter(queries.counted("order__")).count() == 1
    net = Order.objects.counted().aggregate(net=Sum(queries.net_revenue()))["net"]
    assert net == Decimal("200.00") == Order.objects.get(external_id="o-1").net_total
