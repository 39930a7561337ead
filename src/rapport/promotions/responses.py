"""The bodies the promotions API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from typing import Any

from rapport.core.api import Body


class PromotionOut(Body):
    id: int
    code: str
    name: str
    kind: str
    is_active: bool
    starts_at: str
    ends_at: str | None
    currency: str
    audience: str
    level_codes: list[str]
    segment_id: int | None
    channels: list[str]
    store_ids: list[int]
    skus: list[str]
    categories: list[str]
    tiers: list[dict[str, Any]]
    by_units: bool
    repeat: bool
    max_off: str | None
    price: str | None
    percent_off: str | None
    amount_off: str | None
    max_units_per_line: int | None
    buy: int | None
    get: int | None
    components: list[Any]
    with_order_offers: bool
    with_coupons: bool
    per_customer_limit: int | None
    total_limit: int | None
    units_cap: int | None
    times_used: int
    units_sold: int


class PromotionSavedOut(PromotionOut):
    warnings: list[str]


class PromotionPage(Body):
    count: int
    limit: int
    offset: int
    results: list[PromotionOut]


class PromotionAdjustmentOut(Body):
    code: str
    name: str
    layer: str
    amount: str


class PromotionPreviewLineOut(Body):
    sku: str
    quantity: int
    unit_price: str
    gross: str
    total: str
    adjustments: list[PromotionAdjustmentOut]


class PromotionPreviewOut(Body):
    gross: str
    discount: str
    total: str
    lines: list[PromotionPreviewLineOut]
    applied: list[PromotionAdjustmentOut]


class PromotionRevenueGroupOut(Body):
    customers: int
    revenue: str
    per_customer: str


class PromotionHoldoutOut(Body):
    plan_id: int
    plan_name: str
    window_days: int
    granted: int
    treated: PromotionRevenueGroupOut
    held_out: PromotionRevenueGroupOut
    difference: str | None
    ci95: list[str] | None
    incremental_revenue: str | None
    significant: bool


class PromotionReportOut(Body):
    id: int
    code: str
    orders: int
    uses: int
    revenue: str
    discount: str
    granted: int
    holdouts: list[PromotionHoldoutOut]
