"""The bodies the loyalty API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

from typing import Any

from rapport.core.api import Body


class AssetsOut(Body):
    customer_id: int
    balances: dict[str, Any]
    stored_value: dict[str, Any]
    level: dict[str, Any]
    points_expiring: list[Any]
    coupons: dict[str, Any]
    cards: list[Any]


class LoyaltyEntryPage(Body):
    count: int
    limit: int
    offset: int
    results: list[LoyaltyEntryOut]


class LoyaltyEntryOut(Body):
    id: int
    asset: str
    kind: str
    amount: str
    balance_after: str
    occurred_at: str
    order_id: int | None
    reference: str
    reason: str
    by: str
    idempotency_key: str


class MovementOut(Body):
    entries: list[MovementEntriesItem]
    balance: dict[str, Any]


class GrantCardOut(Body):
    id: int
    card_type: str
    starts_at: str
    ends_at: str


class IssueCouponsOut(Body):
    issued: int
    skipped: dict[str, Any]


class QuoteOut(Body):
    customer_id: int
    cart_total: str
    member_discount: dict[str, Any]
    promotions: dict[str, Any]
    free_shipping: bool
    coupons: list[QuoteCouponsItem]
    points: dict[str, Any]
    stored_value: dict[str, Any]


class RedemptionOut(Body):
    id: int
    idempotency_key: str
    customer_id: int
    order_reference: str
    status: str
    cart_total: str
    member_discount: str
    promotion_discount: str
    coupon_code: str | None
    coupon_discount: str
    points: int
    points_value: str
    stored_value: str
    amount_due: str
    created_at: str
    reversed_at: str | None


class MovementEntriesItem(Body):
    id: int
    asset: str
    kind: str
    amount: str
    balance_after: str
    occurred_at: str
    order_id: Any
    reference: str
    reason: str
    by: str
    idempotency_key: str


class QuoteCouponsItem(Body):
    code: str
    name: str
    valid_until: str
    applicable: bool
    discount: str
    reason: str


AssetsOut.model_rebuild()
LoyaltyEntryPage.model_rebuild()
LoyaltyEntryOut.model_rebuild()
MovementOut.model_rebuild()
GrantCardOut.model_rebuild()
IssueCouponsOut.model_rebuild()
QuoteOut.model_rebuild()
RedemptionOut.model_rebuild()
MovementEntriesItem.model_rebuild()
QuoteCouponsItem.model_rebuild()
