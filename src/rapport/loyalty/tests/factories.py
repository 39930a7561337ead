"""Small builders for loyalty rows used across the tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rapport.loyalty.models import CouponKind, CouponTemplate


def coupon_template(**overrides: Any) -> CouponTemplate:
    data: dict[str, Any] = {
        "name": "20 off 100",
        "kind": CouponKind.AMOUNT_OFF,
        "amount_off": Decimal("20"),
        "threshold": Decimal("100"),
        "valid_days": 30,
        "per_customer_limit": 1,
    }
    data.update(overrides)
    return CouponTemplate.objects.create(**data)
