"""The demo shop's stock: a location for each store and the central warehouse, every product kept
at each, a few sold out, with lead times, reorder quantities and costs (about half the price);
then, once the history is written, the nightly sales forecast with the stock plan it gives."""

from __future__ import annotations

from decimal import Decimal

from rapport.commerce.models import Product
from rapport.customers.models import Store
from rapport.demo.steps import DemoContext
from rapport.inventory import planning, services
from rapport.inventory.models import Location, StockItem

SOLD_OUT_SHARE = 0.06


def seed_stock(context: DemoContext) -> dict[str, int]:
    rng = context.rng
    warehouse = services.default_location()
    Location.objects.filter(pk=warehouse.pk).update(name="中央仓 Central warehouse")
    locations = [warehouse] + [services.location_for_store(store) for store in Store.objects.filter(is_online=False)]
    rows = []
    for product_id, price in Product.objects.order_by("pk").values_list("pk", "price"):
        cost = (price * Decimal(str(round(rng.uniform(0.4, 0.6), 2)))).quantize(Decimal("0.01"))
        for location in locations:
            sold_out = rng.random() < SOLD_OUT_SHARE
            level = 0 if sold_out else rng.randint(20, 400) if location == warehouse else rng.randint(2, 60)
            rows.append((product_id, location, level, cost))
    created = services.opening_stock(rows, actor=context.actor)
    StockItem.objects.filter(location=warehouse).update(lead_time_days=14)
    return {"stock_locations": Location.objects.count(), "stock_items": created}


def seed_forecast(context: DemoContext) -> dict[str, int]:
    """The nightly forecast run over the demo's history: forecasts, classes, plans and warnings."""
    run = planning.refresh_forecasts(now=context.now)
    return {"sales_forecasts": run.series}
