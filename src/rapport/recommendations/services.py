"""Recommendations when they are asked for: the precomputed candidates (or the city's best
sellers for a customer without history), less what is out of stock, excluded, inactive or
bought since the list was computed (unless its category may be bought again), boosts applied,
each with a reason a person can read."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from rapport.commerce.models import Order, Product
from rapport.commerce.queries import counted, placed_since
from rapport.customers.models import Customer
from rapport.inventory.queries import with_stock
from rapport.recommendations.models import Reason, Recommendation, RelatedProduct, Rule
from rapport.recommendations.queries import latest_run

MAX_LIMIT = 20


@dataclass(frozen=True)
class Suggestion:
    product: Product
    score: float
    reason: str
    reason_text: str
    because: Product | None = None


@dataclass
class Rules:
    excluded_products: set[int]
    excluded_categories: set[int]
    repeat_products: set[int]
    repeat_categories: set[int]
    boost_products: dict[int, float]
    boost_categories: dict[int, float]

    @classmethod
    def load(cls) -> Rules:
        """The merchant's rules, read at most once per ``RAPPORT_RECOMMENDATION_RULES_SECONDS`` in
        each process: a handful of rows asked for on every request, changed a few times a year (a
        change reaches every process within that time)."""
        global _rules_cache
        expires, cached = _rules_cache
        if cached is not None and time.monotonic() < expires:
            return cached
        rules = cls._read()
        _rules_cache = (time.monotonic() + settings.RAPPORT_RECOMMENDATION_RULES_SECONDS, rules)
        return rules

    @classmethod
    def _read(cls) -> Rules:
        rules = cls(set(), set(), set(), set(), {}, {})
        for kind, product_id, category_id, weight in Rule.objects.values_list(
            "kind", "product_id", "category_id", "weight"
        ):
            if kind == Rule.Kind.BOOST:
                boosts = rules.boost_products if product_id else rules.boost_categories
                boosts[product_id or category_id] = weight
                continue
            if kind == Rule.Kind.EXCLUDE:
                by_product, by_category = rules.excluded_products, rules.excluded_categories
            else:
                by_product, by_category = rules.repeat_products, rules.repeat_categories
            (by_product if product_id else by_category).add(product_id or category_id)
        return rules

    def allows(self, product: Product) -> bool:
        return product.pk not in self.excluded_products and product.category_id not in self.excluded_categories

    def repeatable(self, product: Product) -> bool:
        return product.pk in self.repeat_products or product.category_id in self.repeat_categories

    def boost(self, product: Product) -> float:
        return self.boost_products.get(product.pk, 1.0) * self.boost_categories.get(product.category_id or 0, 1.0)


_rules_cache: tuple[float, Rules | None] = (0.0, None)


def forget_rules() -> None:
    """Rules changed in this process (or a test set them up): read them again on the next request."""
    global _rules_cache
    _rules_cache = (0.0, None)


def reason_text(reason: str, *, product: Product | None = None, city: str = "") -> str:
    return str(Reason(reason).label) % {"product": product.name if product else "", "city": city}


def _products(ids: Iterable[int]) -> tuple[dict[int, Product], set[int]]:
    """The products by id, and those of them out of stock (one query)."""
    found = list(with_stock(Product.objects.filter(pk__in=set(ids)).select_related("category")))
    return {p.pk: p for p in found}, {p.pk for p in found if p.out_of_stock}


def _bought_since(customer: Customer, since: Any) -> set[int]:
    orders = placed_since(customer.pk, since).filter(counted())
    return set(orders.filter(lines__product__isnull=False).values_list("lines__product_id", flat=True))


def _stored_entries(stored: Recommendation) -> list[list[Any]]:
    lists = stored.items
    return [
        list(entry)
        for entry in zip(lists["products"], lists["scores"], lists["reasons"], lists["because"], strict=True)
    ]


def _popular_entries(city: str, popular: dict[str, list[int]]) -> list[list[Any]]:
    """The best sellers of the customer's city (or of the shop) for a customer without a list."""
    city = city if city in popular else ""
    reason = Reason.POPULAR_CITY if city else Reason.POPULAR
    return [[pid, 1.0 / (rank + 1), reason, 0] for rank, pid in enumerate(popular.get(city, []))]


def _candidates(customer: Customer) -> tuple[list[list[Any]], set[int]]:
    """The stored list with what was bought since, or the best sellers of the customer's city."""
    stored = Recommendation.objects.filter(customer=customer).first()
    if stored is not None and stored.items.get("products"):
        return _stored_entries(stored), _bought_since(customer, stored.computed_at)
    run = latest_run()
    return _popular_entries(customer.city, run.popular if run else {}), set()


def _ranked(
    entries: list[list[Any]],
    bought: set[int],
    city: str,
    products: dict[int, Product],
    blocked: set[int],
    *,
    rules: Rules,
    limit: int,
) -> list[Suggestion]:
    """The candidates less what may not be shown, boosted, best first, each with its reason."""
    suggestions = []
    for product_id, score, reason, because_id in entries:
        product = products.get(product_id)
        if product is None or not product.is_active or product_id in blocked or not rules.allows(product):
            continue
        if product_id in bought and not rules.repeatable(product):
            continue
        because = products.get(because_id)
        text = reason_text(reason, product=because, city=city)
        suggestions.append(Suggestion(product, score * rules.boost(product), reason, text, because))
    suggestions.sort(key=lambda s: -s.score)
    return suggestions[:limit]


def for_customer(customer: Customer, *, limit: int = 10) -> list[Suggestion]:
    """Up to ``limit`` products for the customer, best first, none out of stock or excluded."""
    entries, bought = _candidates(customer)
    products, blocked = _products([e[0] for e in entries] + [e[3] for e in entries if e[3]])
    return _ranked(entries, bought, customer.city, products, blocked, rules=Rules.load(), limit=limit)


def for_customers(
    customer_ids: Iterable[int], *, limit: int = 10, leave_out: Collection[int] = ()
) -> dict[int, list[Suggestion]]:
    """:func:`for_customer` for a batch (messages, a journey step) in five queries whatever its
    size; ``leave_out`` products are dropped too (those forecast to run out, for a campaign that
    asks). Customers left with nothing have an empty list."""
    ids = list(customer_ids)
    cities = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "city"))
    stored = {r.customer_id: r for r in Recommendation.objects.filter(customer_id__in=ids) if r.items.get("products")}
    run = latest_run() if len(stored) < len(cities) else None
    entries = {
        pk: _stored_entries(stored[pk]) if pk in stored else _popular_entries(city, run.popular if run else {})
        for pk, city in cities.items()
    }
    bought: dict[int, set[int]] = {pk: set() for pk in cities}
    if stored:
        since = min(r.computed_at for r in stored.values())
        rows = (
            Order.objects.filter(counted(), customer_id__in=list(stored), placed_at__gte=since)
            .filter(lines__product__isnull=False)
            .values_list("customer_id", "placed_at", "lines__product_id")
        )
        for customer_id, placed_at, product_id in rows:
            if placed_at >= stored[customer_id].computed_at:
                bought[customer_id].add(product_id)
    wanted = {e[0] for found in entries.values() for e in found} | {e[3] for f in entries.values() for e in f if e[3]}
    products, blocked = _products(wanted)
    blocked |= set(leave_out)
    rules = Rules.load()
    return {
        pk: _ranked(entries[pk], bought[pk], cities[pk], products, blocked, rules=rules, limit=limit) for pk in cities
    }


def related(product: Product, *, limit: int = 10) -> list[Suggestion]:
    """Products shown beside ``product``: bought together first, then similar; the same filters."""
    rows = list(RelatedProduct.objects.filter(product=product).order_by("-kind", "rank"))
    rules = Rules.load()
    products, blocked = _products(r.related_id for r in rows)
    seen: set[int] = set()
    suggestions = []
    for row in rows:
        candidate = products[row.related_id]
        if candidate.pk in seen or candidate.pk in blocked or not candidate.is_active or not rules.allows(candidate):
            continue
        seen.add(candidate.pk)
        reason = Reason.TOGETHER if row.kind == RelatedProduct.Kind.TOGETHER else Reason.SIMILAR
        suggestions.append(Suggestion(candidate, row.score, reason, reason_text(reason, product=product), product))
    return suggestions[:limit]


def together_measures(product: Product) -> dict[int, dict[str, float]]:
    """Support, confidence and lift of each "bought together" rule from ``product``, by related product."""
    rows = RelatedProduct.objects.filter(product=product, kind=RelatedProduct.Kind.TOGETHER)
    return {
        r.related_id: {
            "support": round(r.support or 0, 4),
            "confidence": round(r.confidence or 0, 4),
            "lift": round(r.lift or 0, 3),
        }
        for r in rows
    }
