"""``/api/v1`` promotions: list, read, create and change promotions, and preview what they do to a
cart. Handlers parse, call one service and shape the answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import PROMOTIONS_READ, PROMOTIONS_WRITE
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import InvalidInput, NotFound
from rapport.core.listing import page_body, paginate
from rapport.promotions import holdouts, queries, services
from rapport.promotions.models import Audience, Promotion, PromotionKind
from rapport.promotions.pricing import CartLine, Quote
from rapport.promotions.responses import (
    PromotionOut,
    PromotionPage,
    PromotionPreviewOut,
    PromotionReportOut,
    PromotionSavedOut,
)

router = Router(tags=["promotions"], exclude_unset=True)

VIEW = "promotions.view_promotion"
MAX_PREVIEW_LINES = 200
MAX_ID = 2**63 - 1  # a record id: larger numbers are refused as input, not sent to the database
MAX_COUNT = 2**31 - 1  # the caps are stored as integers


class TierIn(Strict):
    threshold: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    amount_off: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    percent_off: Decimal | None = Field(None, gt=0, le=100, max_digits=5, decimal_places=2)


class PromotionIn(Strict):
    code: str | None = Field(None, min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: Literal[tuple(PromotionKind.values)] | None = None  # type: ignore[valid-type]
    is_active: bool | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    audience: Literal[tuple(Audience.values)] | None = None  # type: ignore[valid-type]
    level_codes: list[str] | None = Field(None, max_length=50)
    segment_id: int | None = Field(None, ge=1, le=MAX_ID)
    channels: list[str] | None = Field(None, max_length=20)
    store_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, max_length=500)
    skus: list[str] | None = Field(None, max_length=5000)
    categories: list[str] | None = Field(None, max_length=500)
    tiers: list[TierIn] | None = Field(None, max_length=20)
    by_units: bool | None = None
    repeat: bool | None = None
    max_off: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    percent_off: Decimal | None = Field(None, max_digits=5, decimal_places=2)
    amount_off: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    max_units_per_line: int | None = Field(None, ge=1, le=100_000)
    buy: int | None = Field(None, ge=1, le=100)
    get: int | None = Field(None, ge=1, le=100)
    components: list[tuple[str, int]] | None = Field(None, max_length=20)
    with_order_offers: bool | None = None
    with_coupons: bool | None = None
    per_customer_limit: int | None = Field(None, ge=1, le=MAX_COUNT)
    total_limit: int | None = Field(None, ge=1, le=MAX_COUNT)
    units_cap: int | None = Field(None, ge=1, le=MAX_COUNT)


class PreviewLineIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=100_000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    category: str = Field("", max_length=60)


class PreviewIn(Strict):
    lines: list[PreviewLineIn] = Field(min_length=1, max_length=MAX_PREVIEW_LINES)
    promotions: list[str] | None = Field(
        None, max_length=50, description="promotion codes to price with; omitted: every promotion running now"
    )
    level_code: str = Field("", max_length=60, description="the shopper's level, for level audiences")
    is_new: bool = Field(False, description="a new customer (first-order offers, new-customer audiences)")
    channel: str = Field("", max_length=40)


def _fields(payload: PromotionIn) -> tuple[dict[str, Any], list[int] | None]:
    given = payload.model_dump(exclude_unset=True)
    store_ids = given.pop("store_ids", None)
    if "tiers" in given and given["tiers"] is not None:
        given["tiers"] = [{k: (None if v is None else str(v)) for k, v in tier.items()} for tier in given["tiers"]]
    if "components" in given and given["components"] is not None:
        given["components"] = [[sku, units] for sku, units in given["components"]]
    return given, store_ids


def _promotion(promotion_id: int) -> Promotion:
    promotion = Promotion.objects.filter(pk=promotion_id).first()
    if promotion is None:
        raise NotFound.single("promotion_id", "not_found", f"no promotion {promotion_id}")
    return promotion


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def promotion_body(promotion: Promotion) -> dict[str, Any]:
    return {
        "id": promotion.pk,
        "code": promotion.code,
        "name": promotion.name,
        "kind": promotion.kind,
        "is_active": promotion.is_active,
        "starts_at": promotion.starts_at.isoformat(),
        "ends_at": promotion.ends_at.isoformat() if promotion.ends_at else None,
        "currency": promotion.currency,
        "audience": promotion.audience,
        "level_codes": promotion.level_codes,
        "segment_id": promotion.segment_id,
        "channels": promotion.channels,
        "store_ids": sorted(promotion.stores.values_list("pk", flat=True)),
        "skus": promotion.skus,
        "categories": promotion.categories,
        "tiers": promotion.tiers,
        "by_units": promotion.by_units,
        "repeat": promotion.repeat,
        "max_off": _money(promotion.max_off),
        "price": _money(promotion.price),
        "percent_off": _money(promotion.percent_off),
        "amount_off": _money(promotion.amount_off),
        "max_units_per_line": promotion.max_units_per_line,
        "buy": promotion.buy,
        "get": promotion.get,
        "components": promotion.components,
        "with_order_offers": promotion.with_order_offers,
        "with_coupons": promotion.with_coupons,
        "per_customer_limit": promotion.per_customer_limit,
        "total_limit": promotion.total_limit,
        "units_cap": promotion.units_cap,
        "times_used": promotion.times_used,
        "units_sold": promotion.units_sold,
    }


def quote_body(quote: Quote) -> dict[str, Any]:
    def adjustment(a: Any) -> dict[str, str]:
        return {"code": a.key, "name": a.label, "layer": str(a.layer), "amount": str(a.amount)}

    return {
        "gross": str(quote.gross),
        "discount": str(quote.discount),
        "total": str(quote.total),
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "gross": str(line.gross),
                "total": str(line.total),
                "adjustments": [adjustment(a) for a in line.adjustments],
            }
            for line in quote.lines
        ],
        "applied": [adjustment(a) for a in quote.applied],
    }


@router.get("/promotions", response={200: PromotionPage}, summary="Promotions, newest schedule first")
def list_promotions(
    request: HttpRequest,
    kind: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, PROMOTIONS_READ, VIEW)
    promotions = Promotion.objects.prefetch_related("stores")
    if kind:
        if kind not in PromotionKind.values:
            raise InvalidInput.single("kind", "invalid", f"one of: {', '.join(PromotionKind.values)}")
        promotions = promotions.filter(kind=kind)
    if active is not None:
        promotions = promotions.filter(is_active=active)
    page = paginate(promotions, limit=limit, offset=offset)
    return page_body(page, [promotion_body(p) for p in page.items])


@router.post("/promotions", response={201: PromotionSavedOut}, summary="Create a promotion (overlaps come as warnings)")
def create_promotion(request: HttpRequest, payload: PromotionIn) -> Status[dict[str, Any]]:
    require(request, PROMOTIONS_WRITE, "promotions.add_promotion")
    fields, store_ids = _fields(payload)
    promotion, warnings = services.create_promotion(fields, actor=actor_for(request), store_ids=store_ids or [])
    return Status(201, {**promotion_body(promotion), "warnings": warnings})


@router.get("/promotions/{int:promotion_id}", response={200: PromotionOut}, summary="One promotion")
def get_promotion(request: HttpRequest, promotion_id: int) -> dict[str, Any]:
    require(request, PROMOTIONS_READ, VIEW)
    return promotion_body(_promotion(promotion_id))


@router.patch("/promotions/{int:promotion_id}", response={200: PromotionSavedOut}, summary="Change a promotion")
def update_promotion(request: HttpRequest, promotion_id: int, payload: PromotionIn) -> dict[str, Any]:
    require(request, PROMOTIONS_WRITE, "promotions.change_promotion")
    fields, store_ids = _fields(payload)
    promotion, warnings = services.update_promotion(
        _promotion(promotion_id), fields, actor=actor_for(request), store_ids=store_ids
    )
    return {**promotion_body(promotion), "warnings": warnings}


def _group_body(group: holdouts.RevenueGroup) -> dict[str, Any]:
    return {"customers": group.customers, "revenue": str(group.revenue), "per_customer": str(group.per_customer)}


@router.get(
    "/promotions/{int:promotion_id}/report", response={200: PromotionReportOut}, summary="A promotion's performance"
)
def promotion_report(request: HttpRequest, promotion_id: int) -> dict[str, Any]:
    """Orders, revenue after promotions and discount cost net of refunds; for a personal promotion,
    the customers granted it and, per plan that held a control group out, revenue per customer of
    the treated against the held out in the plan's window, with the difference's 95% interval."""
    require(request, PROMOTIONS_READ, VIEW)
    promotion = _promotion(promotion_id)
    figures = queries.performance(promotion)
    return {
        "id": promotion.pk,
        "code": promotion.code,
        "orders": figures["orders"],
        "uses": figures["uses"],
        "revenue": str(figures["revenue"]),
        "discount": str(figures["discount"]),
        "granted": queries.granted_customers(promotion),
        "holdouts": [
            {
                "plan_id": c.groups.plan_id,
                "plan_name": c.groups.plan_name,
                "window_days": c.groups.window_days,
                "granted": c.granted,
                "treated": _group_body(c.groups.treated),
                "held_out": _group_body(c.groups.held_out),
                "difference": _money(c.difference),
                "ci95": [str(c.low), str(c.high)] if c.low is not None else None,
                "incremental_revenue": _money(c.incremental_revenue),
                "significant": c.significant,
            }
            for c in holdouts.comparisons(promotion)
        ],
    }


@router.post("/promotions/preview", response={200: PromotionPreviewOut}, summary="Price a cart with promotions")
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    require(request, PROMOTIONS_READ, VIEW)
    lines = [CartLine(line.sku, line.quantity, line.unit_price, line.category) for line in payload.lines]
    chosen = None
    if payload.promotions is not None:
        chosen = list(Promotion.objects.filter(code__in=payload.promotions))
        missing = sorted(set(payload.promotions) - {p.code for p in chosen})
        if missing:
            raise InvalidInput.single("promotions", "not_found", f"no promotion with code {', '.join(missing)}")
    shopper = services.Shopper(level_code=payload.level_code, is_new=payload.is_new)
    priced = services.price_cart(lines, shopper=shopper, channel=payload.channel, promotions=chosen)
    return quote_body(priced.quote)
