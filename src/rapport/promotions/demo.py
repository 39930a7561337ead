"""The demo shop's promotions: a week's mix a Chinese retailer runs (满减 tiers, a category
discount, 买二送一, a limited-time price), so the console and the tour have something to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.demo.steps import DemoContext
from rapport.promotions.models import PromotionKind
from rapport.promotions.services import create_promotion


def seed_promotions(context: DemoContext) -> dict[str, int]:
    start = context.now - dt.timedelta(days=3)
    rows: list[dict[str, Any]] = [
        {
            "code": "WEEK-MANJIAN",
            "name": "满200减20 · 满500减60",
            "kind": PromotionKind.FULL_REDUCTION,
            "tiers": [{"threshold": "200", "amount_off": "20"}, {"threshold": "500", "amount_off": "60"}],
            "with_coupons": False,
        },
        {
            "code": "TEA-10",
            "name": "茶叶九折",
            "kind": PromotionKind.ITEM_DISCOUNT,
            "categories": ["tea"],
            "percent_off": "10",
        },
        {
            "code": "B2G1",
            "name": "买二送一",
            "kind": PromotionKind.BUY_X_GET_Y,
            "categories": ["snacks"],
            "buy": 2,
            "get": 1,
        },
        {
            "code": "FLASH-1",
            "name": "限时特价",
            "kind": PromotionKind.LIMITED_TIME_PRICE,
            "skus": ["TEA-001"],
            "price": "39.00",
            "units_cap": 100,
            "with_order_offers": False,
        },
    ]
    for row in rows:
        create_promotion({"starts_at": start, "ends_at": start + dt.timedelta(days=10), **row}, actor=context.actor)
    context.say(f"promotions: {len(rows)}")
    return {"promotions": len(rows)}
