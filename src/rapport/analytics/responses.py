"""The bodies the analytics API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from rapport.core.api import Body


class MetricsOut(Body):
    customer: int
    computed_at: dt.datetime
    orders: int
    purchase_days: int | float
    first_order_at: dt.datetime
    last_order_at: dt.datetime
    recency_days: int | float
    monetary: str
    average_order_value: str
    r_score: int | float
    f_score: int | float
    m_score: int | float
    rfm_segment: str
    lifecycle_stage: str
    value_tier: str
    preferred_category: str
    discount_share: float
    price_sensitivity: str
    clv_12m: Any
    p_alive: float
    expected_purchases_90d: float
    expected_next_order_on: dt.date
    churn_probability: Any


class FitOut(Body):
    kind: str
    params: dict[str, Any]
    quality: dict[str, Any]
    customers: int
    fitted_at: dt.datetime


class RecomputeOut(Body):
    customers: int
    buyers: int
    seconds: float


class DashboardOut(Body):
    filters: dict[str, Any]
    headline: dict[str, Any]
    monthly: list[DashboardMonthlyItem]
    cohorts: dict[str, Any]
    stores: list[DashboardStoresItem]
    owners: list[DashboardOwnersItem]
    channels: list[DashboardChannelsItem]
    categories: list[DashboardCategoriesItem]
    products: list[DashboardProductsItem]
    customer_mix: dict[str, Any]


class LoyaltyOut(Body):
    filters: dict[str, Any]
    by_level: dict[str, Any]
    points: dict[str, Any]
    stored_value: dict[str, Any]


class RunReportOut(Body):
    definition: dict[str, Any]
    columns: list[RunReportColumnsItem]
    rows: list[list[int | str]]
    truncated: bool


class ReportPage(Body):
    count: int
    limit: int
    offset: int
    results: list[AnalyticsReportOut]


class AnalyticsReportOut(Body):
    id: int
    name: str
    definition: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class GetReportOut(Body):
    id: int
    name: str
    definition: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    result: dict[str, Any]


class DashboardMonthlyItem(Body):
    month: str
    active: int
    new: int
    returning: int
    orders: int
    revenue: Decimal
    average_order_value: Decimal


class DashboardStoresItem(Body):
    store_name: str
    orders: int
    revenue: Decimal
    customers: int
    average_order_value: Decimal


class DashboardOwnersItem(Body):
    owner: str
    orders: int
    revenue: Decimal
    customers: int
    arpu: Decimal


class DashboardChannelsItem(Body):
    channel: str
    orders: int
    revenue: Decimal
    share: float


class DashboardCategoriesItem(Body):
    category: str
    revenue: Decimal
    units: int
    customers: int


class DashboardProductsItem(Body):
    sku: str
    name: str
    revenue: Decimal
    units: int
    customers: int


class RunReportColumnsItem(Body):
    key: str
    label: str
    kind: str


MetricsOut.model_rebuild()
FitOut.model_rebuild()
RecomputeOut.model_rebuild()
DashboardOut.model_rebuild()
LoyaltyOut.model_rebuild()
RunReportOut.model_rebuild()
ReportPage.model_rebuild()
AnalyticsReportOut.model_rebuild()
GetReportOut.model_rebuild()
DashboardMonthlyItem.model_rebuild()
DashboardStoresItem.model_rebuild()
DashboardOwnersItem.model_rebuild()
DashboardChannelsItem.model_rebuild()
DashboardCategoriesItem.model_rebuild()
DashboardProductsItem.model_rebuild()
RunReportColumnsItem.model_rebuild()


class StaffPerformanceRules(Body):
    contact_rule: bool
    contact_days: int
    owner: str
    in_words: list[str]


class StaffPerformanceRow(Body):
    staff_id: int | None
    staff: str
    currency: str
    orders: int
    by_contact: int
    revenue: Decimal
    customers: int
    tasks_done: int
    new_members: int
    contacts: int


class StaffLeaderboardRow(Body):
    rank: int
    staff_id: int | None
    staff: str
    orders: int
    by_contact: int
    revenue: Decimal
    customers: int
    new_members: int


class StaffLeaderboard(Body):
    store: str
    store_name: str
    currency: str
    revenue: Decimal
    new_members: int
    rows: list[StaffLeaderboardRow]


class StaffPerformanceOut(Body):
    filters: dict[str, Any]
    rules: StaffPerformanceRules
    staff: list[StaffPerformanceRow]
    leaderboards: list[StaffLeaderboard]
