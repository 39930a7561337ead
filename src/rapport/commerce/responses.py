"""The bodies the commerce API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class CommerceCategoryOut(Body):
    id: int
    code: str
    name: str
    parent: str | None


class ProductPage(Body):
    count: int
    limit: int
    offset: int
    results: list[ProductOut]


class ProductOut(Body):
    id: int
    sku: str
    name: str
    category: str | None
    price: str
    currency: str
    is_active: bool
    updated_at: dt.datetime


class OrderPage(Body):
    count: int
    limit: int
    offset: int
    results: list[OrderOut]


class OrderOut(Body):
    id: int
    channel: str
    external_id: str
    customer_id: int | None
    store: str | None
    status: str
    currency: str
    subtotal: str
    discount_total: str
    shipping_total: str
    total: str
    refunded_total: str
    placed_at: dt.datetime
    carrier: str
    tracking_number: str
    shipped_at: dt.datetime | None
    lines: list[dict[str, Any]]
    refunds: list[OrderRefundsItem]


class BulkOrdersOut(Body):
    created: int
    updated: int
    results: list[BulkOrdersResultsItem]


class RefundOut(Body):
    id: int
    external_id: str
    amount: str
    reason: str
    status: str
    refunded_at: dt.datetime


class OrderRefundsItem(Body):
    id: int
    external_id: str
    amount: str
    reason: str
    status: str
    refunded_at: dt.datetime


class BulkOrdersResultsItem(Body):
    id: int
    created: bool


CommerceCategoryOut.model_rebuild()
ProductPage.model_rebuild()
ProductOut.model_rebuild()
OrderPage.model_rebuild()
OrderOut.model_rebuild()
BulkOrdersOut.model_rebuild()
RefundOut.model_rebuild()
OrderRefundsItem.model_rebuild()
BulkOrdersResultsItem.model_rebuild()
