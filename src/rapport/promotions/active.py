"""The running promotions compiled for quick look-up: which offers can touch a given cart.

A shop has hundreds of promotions running and a cart touches a handful; indexing the offers by
SKU and category keeps each quote's work proportional to the cart, not to the promotion list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rapport.promotions.pricing import CartLine, ItemOffer, OrderOffer, Scope

T = TypeVar("T", ItemOffer, OrderOffer)


@dataclass(frozen=True)
class _Index(Generic[T]):
    everywhere: tuple[T, ...] = ()
    by_sku: dict[str, tuple[T, ...]] = field(default_factory=dict)
    by_category: dict[str, tuple[T, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, offers: Iterable[T]) -> _Index[T]:
        everywhere: list[T] = []
        by_sku: defaultdict[str, list[T]] = defaultdict(list)
        by_category: defaultdict[str, list[T]] = defaultdict(list)
        for offer in offers:
            scope: Scope = offer.scope
            if not scope.skus and not scope.categories:
                everywhere.append(offer)
            for sku in scope.skus:
                by_sku[sku].append(offer)
            for category in scope.categories:
                by_category[category].append(offer)
        return cls(
            tuple(everywhere),
            {k: tuple(v) for k, v in by_sku.items()},
            {k: tuple(v) for k, v in by_category.items()},
        )

    def touching(self, lines: Sequence[CartLine]) -> list[T]:
        found: dict[str, T] = {offer.key: offer for offer in self.everywhere}
        for line in lines:
            for offer in self.by_sku.get(line.sku, ()):
                found[offer.key] = offer
            for offer in self.by_category.get(line.category, ()) if line.category else ():
                found[offer.key] = offer
        return list(found.values())


@dataclass(frozen=True)
class ActiveSet:
    """Item-level and order-level offers running for one customer, store and channel at one moment."""

    items: tuple[ItemOffer, ...]
    orders: tuple[OrderOffer, ...]
    _items: _Index[ItemOffer]
    _orders: _Index[OrderOffer]

    @classmethod
    def of(cls, items: Iterable[ItemOffer], orders: Iterable[OrderOffer]) -> ActiveSet:
        items, orders = tuple(items), tuple(orders)
        return cls(items, orders, _Index.of(items), _Index.of(orders))

    def for_cart(self, lines: Sequence[CartLine]) -> tuple[list[ItemOffer], list[OrderOffer]]:
        return self._items.touching(lines), self._orders.touching(lines)
