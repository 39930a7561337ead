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
    abc: str | None
    xyz: str | None
    safety_stock: int | None
    reorder_point: int | None
    weekly_demand: float | None
    days_of_cover: float | None
    overstock: bool


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


class ForecastPeriodOut(Body):
    start: dt.date
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class ProductForecastOut(Body):
    sku: str
    frequency: str
    method: str
    demand_class: str
    computed_at: dt.datetime
    periods: list[ForecastPeriodOut]


StockPage.model_rebuild()
ProductForecastOut.model_rebuild()
ProductStockOut.model_rebuild()
StockMovementPage.model_rebuild()
