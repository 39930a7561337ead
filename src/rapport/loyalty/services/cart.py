"""A shop's cart as the checkout and coupon rules see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rapport.loyalty.models import ZERO


@dataclass(frozen=True)
class CartItem:
    """A cart line: ``amount`` is the line total; ``quantity`` and ``unit_price`` are optional (older
    callers send neither: one unit at the line total)."""

    sku: str
    amount: Decimal
    category: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Cart:
    """``total`` is what the goods cost before any asset is used; ``items`` lets scoped coupons apply."""

    total: Decimal
    items: tuple[CartItem, ...] = field(default_factory=tuple)
    store_id: int | None = None
    shipping: Decimal = ZERO
    channel: str = ""

    def amount_in_scope(self, skus: list[str], categories: list[str]) -> Decimal:
        """What the goods a scoped coupon covers cost; the whole cart when it is not scoped."""
        if not skus and not categories:
            return self.total
        return sum(
            (item.amount for item in self.items if item.sku in skus or (item.category and item.category in categories)),
            ZERO,
        )
