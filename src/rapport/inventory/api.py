"""``/api/v1`` stock: levels per product and location, replenishment settings and movements.

Products are addressed by SKU and locations by code (the default location when none is given).
Levels change only through movements: goods received, adjustments, counts, and live orders.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router

from rapport.accounts.scopes import INVENTORY_READ, INVENTORY_WRITE
from rapport.commerce.queries import product_by_sku
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import InvalidInput, NotFound
from rapport.core.listing import order, page_body, paginate
from rapport.inventory import queries, services
from rapport.inventory.models import StockItem, StockMovement
from rapport.inventory.responses import (
    ProductForecastOut,
    ProductStockOut,
    StockItemOut,
    StockMovementPage,
    StockPage,
)

router = Router(tags=["inventory"])


class StockSettingsIn(Strict):
    location: str | None = Field(None, description="location code; the default location when omitted")
    lead_time_days: int | None = None
    reorder_quantity: int | None = None
    unit_cost: Decimal | int | str | None = None
    currency: str | None = None


class MovementIn(Strict):
    location: str | None = Field(None, description="location code; the default location when omitted")
    kind: str = Field("adjustment", description="receipt, adjustment (signed change) or count (the level found)")
    quantity: int
    note: str = ""


def item_body(item: StockItem) -> dict[str, Any]:
    return {
        "sku": item.product.sku,
        "location": item.location.code,
        "on_hand": item.on_hand,
        "lead_time_days": item.lead_time_days,
        "reorder_quantity": item.reorder_quantity,
        "unit_cost": None if item.unit_cost is None else str(item.unit_cost),
        "currency": item.currency,
        "updated_at": item.updated_at,
        **plan_body(item),
    }


def plan_body(item: StockItem) -> dict[str, Any]:
    """What the nightly forecast says of the item (None before the first run)."""
    plan = getattr(item, "plan", None)  # a missing reverse one-to-one raises an AttributeError
    cover = getattr(item, "days_of_cover", None)
    return {
        "abc": getattr(item, "abc", None),
        "xyz": getattr(item, "xyz", None),
        "safety_stock": None if plan is None else plan.safety_stock,
        "reorder_point": None if plan is None else plan.reorder_point,
        "weekly_demand": None if plan is None else plan.weekly_demand,
        "days_of_cover": None if cover is None else round(cover, 1),
        "overstock": bool(getattr(item, "overstock", False)),
    }


def movement_body(movement: StockMovement) -> dict[str, Any]:
    return {
        "id": movement.pk,
        "kind": movement.kind,
        "quantity": movement.quantity,
        "order_id": movement.order_id,
        "note": movement.note,
        "by": movement.actor,
        "at": movement.created_at,
    }


def _product(sku: str) -> Any:
    product = product_by_sku(sku)
    if product is None:
        raise NotFound.single("sku", "not_found", f"no product {sku!r}")
    return product


@router.get(
    "/stock",
    response={200: StockPage},
    summary="Stock levels with their plan, filtered by location, category, brand, text, status and ABC/XYZ class",
)
def list_stock(
    request: HttpRequest,
    location: str = "",
    category: str = "",
    brand: str = "",
    q: str = "",
    status: str = "",
    abc: str = "",
    xyz: str = "",
    order_by: str = "sku",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, INVENTORY_READ, "inventory.view_stockitem")
    params = {
        "location": location,
        "category": category,
        "brand": brand,
        "q": q,
        "status": status,
        "abc": abc,
        "xyz": xyz,
    }
    items = order(queries.stock_items(params), order_by, queries.ORDERINGS, "sku")
    page = paginate(items, limit=limit, offset=offset)
    return page_body(page, [item_body(i) for i in page.items])


@router.get("/products/{sku}/stock", response={200: ProductStockOut}, summary="A product's stock at every location")
def product_stock(request: HttpRequest, sku: str) -> dict[str, Any]:
    require(request, INVENTORY_READ, "inventory.view_stockitem")
    product = _product(sku)
    items = queries.stock_items({}).filter(product=product)
    return {"sku": product.sku, "on_hand": sum(i.on_hand for i in items), "locations": [item_body(i) for i in items]}


@router.put(
    "/products/{sku}/stock",
    response={200: StockItemOut},
    summary="Set lead time, reorder quantity and cost at a location",
)
def set_stock(request: HttpRequest, sku: str, payload: StockSettingsIn) -> dict[str, Any]:
    require(request, INVENTORY_WRITE, "inventory.change_stockitem")
    data = payload.model_dump(exclude_unset=True)
    location = services.find_location(data.pop("location", None))
    item = services.set_item(_product(sku), location, data=data, actor=actor_for(request))
    return item_body(queries.stock_items({}).get(pk=item.pk))


@router.post(
    "/products/{sku}/stock/movements",
    response={200: StockItemOut},
    summary="Record goods received, an adjustment or a count",
)
def add_movement(request: HttpRequest, sku: str, payload: MovementIn) -> dict[str, Any]:
    require(request, INVENTORY_WRITE, "inventory.add_stockmovement")
    data = payload.model_dump()
    location = services.find_location(data.pop("location", None))
    item = services.record_movement(_product(sku), location, data=data, actor=actor_for(request))
    return item_body(queries.stock_items({}).get(pk=item.pk))


@router.get(
    "/products/{sku}/stock/movements",
    response={200: StockMovementPage},
    summary="A product's stock ledger, newest first",
)
def list_movements(
    request: HttpRequest, sku: str, location: str = "", limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    require(request, INVENTORY_READ, "inventory.view_stockitem")
    product = _product(sku)
    found = StockMovement.objects.filter(item__product=product)
    if location:
        found = found.filter(item__location=services.find_location(location))
    page = paginate(found, limit=limit, offset=offset)
    return page_body(page, [movement_body(m) for m in page.items])


FORECAST_FREQUENCIES = ("week", "day")


@router.get(
    "/products/{sku}/forecast",
    response={200: ProductForecastOut},
    summary="A product's latest sales forecast with 80 % and 95 % intervals (13 weeks, or 91 days by day)",
)
def product_forecast(request: HttpRequest, sku: str, frequency: str = "week") -> dict[str, Any]:
    require(request, INVENTORY_READ, "inventory.view_stockitem")
    if frequency not in FORECAST_FREQUENCIES:
        raise InvalidInput.single("frequency", "invalid", "one of: week, day")
    product = _product(sku)
    found = queries.forecast("product", product.pk, frequency)
    if found is None:
        raise NotFound.single("sku", "no_forecast", f"no forecast of {sku!r} by {frequency} yet (computed nightly)")
    step = dt.timedelta(days=7 if frequency == "week" else 1)
    values = found.values
    names = ("mean", "lo80", "hi80", "lo95", "hi95")
    return {
        "sku": product.sku,
        "frequency": frequency,
        "method": found.method,
        "demand_class": found.demand_class,
        "computed_at": found.computed_at,
        "periods": [
            {"start": found.first_period + step * i, **{name: values[name][i] for name in names}}
            for i in range(len(values["mean"]))
        ],
    }
