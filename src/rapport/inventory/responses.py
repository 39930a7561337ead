"""The bodies the stock API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

import datetime as dt

from rapport.core.api import Body


class StockItemOut(Body):
    sku: str
    location: str
    on_hand: int
    lead_time_days: int
    reorder_quantity: int
    unit_cost: str | None
    currency: str
    updated_at: dt.datetime


class StockPage(Body):
    count: int
    limit: int
    offset: int
    results: list[StockItemOut]


class ProductStockOut(Body):
    sku: str
    on_hand: int
    locations: list[StockItemOut]


class StockMovementOut(Body):
    id: int
    kind: str
    quantity: int
    order_id: int | None
    note: str
    by: str
    at: dt.datetime


class StockMovementPage(Body):
    count: int
    limit: int
    offset: int
    results: list[StockMovementOut]


StockPage.model_rebuild()
ProductStockOut.model_rebuild()
StockMovementPage.model_rebuild()
