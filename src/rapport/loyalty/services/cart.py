"""A shop's cart as the checkout and coupon rules see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rapport.loyalty.models import ZERO
from rapport.promotions.pricing import CartLine

CENT = Decimal("0.01")


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


def engine_lines(cart: Cart) -> list[CartLine]:
    """The pricing engine's lines: each item at its unit price (the line total over its quantity when the
    shop sent none and it divides to the cent, else the line as one unit), and what the items leave
    of the cart total as one untargeted line, so that order-level offers and unscoped coupons see the
    whole cart."""
    lines = []
    for item in cart.items:
        unit = item.unit_price if item.unit_price is not None else item.amount / item.quantity
        if unit.quantize(CENT) * item.quantity == item.amount:
            lines.append(CartLine(item.sku, item.quantity, unit.quantize(CENT), item.category))
        else:
            lines.append(CartLine(item.sku, 1, item.amount, item.category))
    rest = cart.total - sum((item.amount for item in cart.items), ZERO)
    if rest > 0:
        lines.append(CartLine("", 1, rest))
    return lines
