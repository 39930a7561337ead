"""Recommendations when they are asked for: the precomputed candidates (or the city's best
sellers for a customer without history), less what is out of stock, excluded, inactive or
bought since the list was computed (unless its category may be bought again), boosts applied,
each with a reason a person can read.

A shop asks at every page view, and a campaign for every recipient: a customer's list takes
three queries whatever the number of customers — the customers with their stored lists, what
they bought since, the products with their stock. The merchant's rules and the best sellers are
kept per process and read again only when their version (read in the first query) changes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import DateTimeField, F, Func, IntegerField, JSONField, OuterRef, Q, QuerySet, Subquery

from rapport.commerce.models import Product
from rapport.commerce.queries import products_bought_since
from rapport.core.prepared import AnyOf, Prepared, flat_filter
from rapport.customers.models import Customer
from rapport.customers.queries import visible_customer, visible_scope
from rapport.inventory.queries import with_stock
from rapport.recommendations.models import Reason, Recommendation, RelatedProduct, Rule, TrainingRun

MAX_LIMIT = 20


@dataclass(frozen=True, slots=True)
class ProductCard:
    """What a recommendation shows of a product, read as plain values: a shop asks at every page
    view, and building model instances (with their category) cost more than the rest of the read."""

    pk: int
    sku: str
    name: str
    brand: str
    category_id: int | None
    category_code: str | None
    price: Decimal
    currency: str
    image_url: str
    product_url: str
    is_active: bool

    @classmethod
    def of(cls, product: Product) -> ProductCard:
        category_code = product.category.code if product.category else None
        values = (product.sku, product.name, product.brand, product.category_id, category_code, product.price)
        return cls(product.pk, *values, product.currency, product.image_url, product.product_url, product.is_active)


# the columns of a ProductCard, in its fields' order
_CARD_COLUMNS = [
    *("pk", "sku", "name", "brand", "category_id", "category__code"),
    *("price", "currency", "image_url", "product_url", "is_active"),
]


@dataclass(frozen=True)
class Suggestion:
    product: ProductCard
    score: float
    reason: str
    reason_text: str
    because: ProductCard | None = None
    measures: Mapping[str, float] = field(default_factory=dict)  # support, confidence, lift of a rule


@dataclass(frozen=True, slots=True)
class ListedCustomer:
    """A customer as recommending reads them (:func:`recommendable`): the city, the stored list and
    when it was computed, and the versions of what each process keeps (rules, latest run)."""

    pk: int
    city: str
    stored_items: Mapping[str, Any] | None
    stored_at: dt.datetime | None
    latest_run_id: int | None
    rules_count: int
    rules_changed: dt.datetime | None


_LISTED_COLUMNS = ("pk", "city", "stored_items", "stored_at", "latest_run_id", "rules_count", "rules_changed")


@dataclass
class Rules:
    excluded_products: set[int]
    excluded_categories: set[int]
    repeat_products: set[int]
    repeat_categories: set[int]
    boost_products: dict[int, float]
    boost_categories: dict[int, float]

    @classmethod
    def current(cls, version: tuple[Any, Any]) -> Rules:
        """The merchant's rules: a handful of rows asked for on every request and changed a few
        times a year, so each process keeps them until ``version`` (:func:`rules_version`) moves."""
        global _rules_cache
        cached_version, cached = _rules_cache
        if cached is None or cached_version != version:
            cached = cls._read()
            _rules_cache = (version, cached)
        return cached

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

    def allows(self, product: ProductCard) -> bool:
        return product.pk not in self.excluded_products and product.category_id not in self.excluded_categories

    def repeatable(self, product: ProductCard) -> bool:
        return product.pk in self.repeat_products or product.category_id in self.repeat_categories

    def boost(self, product: ProductCard) -> float:
        return self.boost_products.get(product.pk, 1.0) * self.boost_categories.get(product.category_id or 0, 1.0)


_rules_cache: tuple[tuple[Any, Any], Rules | None] = ((None, None), None)
_popular_cache: tuple[int | None, dict[str, list[int]]] = (None, {})


def rules_version() -> dict[str, Subquery]:
    """Annotations that read the rules' version (how many, the latest change) in a query made
    anyway: a rule added, edited or deleted reaches every process at its next request."""
    rules = Rule.objects.order_by()  # aggregates without GROUP BY: one row, even with no rules
    count = Func(F("id"), function="COUNT", output_field=IntegerField())
    latest = Func(F("updated_at"), function="MAX", output_field=DateTimeField())
    return {
        "rules_count": Subquery(rules.annotate(n=count).values("n")),
        "rules_changed": Subquery(rules.annotate(at=latest).values("at")),
    }


def forget_cached() -> None:
    """Drop this process's copies of the rules and best sellers (tests whose rows are rolled back)."""
    global _rules_cache, _popular_cache
    _rules_cache = ((None, None), None)
    _popular_cache = (None, {})


def _popular(run_id: int | None) -> dict[str, list[int]]:
    """The latest training run's best sellers by city ("" for everywhere), kept per process until
    a newer run is found."""
    global _popular_cache
    if run_id is None:
        return {}
    if _popular_cache[0] != run_id:
        popular = TrainingRun.objects.filter(pk=run_id).values_list("popular", flat=True).first()
        _popular_cache = (run_id, popular or {})
    return _popular_cache[1]


def reason_text(reason: str, *, product: ProductCard | None = None, city: str = "") -> str:
    return str(Reason(reason).label) % {"product": product.name if product else "", "city": city}


def _products_query(ids: Collection[int] | int) -> QuerySet[Product, tuple[Any, ...]]:
    """The products by id with their stock; ``ids`` as one int is a marker for a list (PostgreSQL)."""
    wanted = AnyOf(F("pk"), ids) if isinstance(ids, int) else Q(pk__in=ids)
    return with_stock(Product.objects.filter(wanted).order_by()).values_list(*_CARD_COLUMNS, "out_of_stock")


def _prepared_products_query(markers: list[int], size: int) -> QuerySet[Product, tuple[Any, ...]]:
    return _products_query(markers[0] if size == 0 else markers)


# A shop's request names a few dozen products: their read is prepared once per process, the ids as
# one array on PostgreSQL (size 0); elsewhere for lists of up to 8, 16, 32 or 64 ids, padded with
# a repeated id, so four statements serve every request.
_PRODUCTS_READ = Prepared(_prepared_products_query, count=lambda size: size or 1)
_PREPARED_SIZES = (8, 16, 32, 64)


def _products(ids: Iterable[int]) -> tuple[dict[int, ProductCard], set[int]]:
    """The products by id, and those of them out of stock (one query)."""
    wanted = sorted(set(ids))
    size = next((n for n in _PREPARED_SIZES if len(wanted) <= n), None)
    if not wanted:
        rows: list[tuple[Any, ...]] = []
    elif connection.vendor == "postgresql":
        rows = _PRODUCTS_READ.rows([wanted], shape=0)
    elif size is None:  # a campaign's batch: compiled for its own sake
        rows = list(_products_query(wanted))
    else:
        rows = _PRODUCTS_READ.rows(wanted + [wanted[0]] * (size - len(wanted)), shape=size)
    return {row[0]: ProductCard(*row[:-1]) for row in rows}, {row[0] for row in rows if row[-1]}


def recommendable(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """``customers`` read for recommending, in one query: the city, the stored list and when it
    was computed, the rules' version and the latest training run — none of the 360 page's joins."""
    stored = Recommendation.objects.filter(customer=OuterRef("pk"))
    latest_run = TrainingRun.objects.order_by("-trained_at", "-id").values("id")[:1]
    return customers.only("id", "city").annotate(
        stored_items=Subquery(stored.values("items"), output_field=JSONField()),
        stored_at=Subquery(stored.values("computed_at")),
        latest_run_id=Subquery(latest_run),
        **rules_version(),
    )


def listed(customers: QuerySet[Customer]) -> list[ListedCustomer]:
    return [ListedCustomer(*row) for row in recommendable(customers).order_by().values_list(*_LISTED_COLUMNS)]


def _listed_query(markers: list[int], scope: tuple[str, ...]) -> QuerySet[Customer, tuple[Any, ...]]:
    in_scope = Q(**dict(zip(scope, markers[1:], strict=True)))
    return recommendable(Customer.objects.filter(in_scope, pk=markers[0])).order_by().values_list(*_LISTED_COLUMNS)


# The shop asks for one customer at every page view: that read (with its subqueries) is compiled
# once per process and data-scope filter (none for an admin, the owner for sales staff …).
_LISTED_READ = Prepared(_listed_query, count=lambda scope: 1 + len(scope))


def listed_customer(user: AbstractBaseUser | AnonymousUser | None, customer_id: int) -> ListedCustomer:
    """The customer ``customer_id`` among those ``user`` may see, read for recommending; a
    merged-away id finds its survivor, an unknown one (or one out of scope) is NotFound."""
    flat = flat_filter(visible_scope(user))
    if flat is not None:
        lookups, values = flat
        rows = _LISTED_READ.rows([customer_id, *values], shape=lookups)
        if rows:
            return ListedCustomer(*rows[0])
    # a merged-away id, one out of scope or unknown, or a scope that is not a plain filter
    customer = visible_customer(user, customer_id, read=Customer.objects.all())
    return listed(Customer.objects.filter(pk=customer.pk))[0]


def _bought_since_query(markers: list[int], _shape: object) -> QuerySet[Any, tuple[int, int]]:
    since = Subquery(Recommendation.objects.filter(customer=markers[0]).values("computed_at"))
    return products_bought_since([markers[0]], since)


# what one customer bought since their list was computed: prepared, as the customer's read
_BOUGHT_SINCE_READ = Prepared(_bought_since_query)


def _bought_since(customer_ids: list[int]) -> dict[int, set[int]]:
    """The products each customer bought since their list was computed (one query)."""
    bought: dict[int, set[int]] = defaultdict(set)
    if len(customer_ids) == 1:
        pairs: Iterable[tuple[int, int]] = _BOUGHT_SINCE_READ.rows(customer_ids)
    else:
        since = Subquery(Recommendation.objects.filter(customer=OuterRef("order__customer_id")).values("computed_at"))
        pairs = products_bought_since(customer_ids, since)
    for customer_id, product_id in pairs:
        bought[customer_id].add(product_id)
    return bought


def _candidates(customer: ListedCustomer, popular: Mapping[str, list[int]]) -> list[list[Any]]:
    """The stored list as ``[product, score, reason, because]`` entries, or the best sellers of
    the customer's city."""
    lists = customer.stored_items or {}
    if lists.get("products"):
        columns = (lists["products"], lists["scores"], lists["reasons"], lists["because"])
        return [list(entry) for entry in zip(*columns, strict=True)]
    city = customer.city if customer.city in popular else ""
    reason = Reason.POPULAR_CITY if city else Reason.POPULAR
    return [[pid, 1.0 / (rank + 1), reason, 0] for rank, pid in enumerate(popular.get(city, []))]


def suggestions_for(
    customers: Sequence[ListedCustomer], *, limit: int = 10, leave_out: Collection[int] = ()
) -> dict[int, list[Suggestion]]:
    """Up to ``limit`` products for each customer, best first, none out of stock or excluded.
    ``customers`` come from :func:`listed` or :func:`listed_customer`; two more queries for any
    number of them. ``leave_out`` products are dropped too (those forecast to run out, for a
    campaign that asks)."""
    if not customers:
        return {}
    first = customers[0]
    rules = Rules.current((first.rules_count, first.rules_changed))
    popular = _popular(first.latest_run_id)
    entries = {c.pk: _candidates(c, popular) for c in customers}
    with_list = [c.pk for c in customers if c.stored_at]
    bought = _bought_since(with_list) if with_list else defaultdict(set)
    candidates = [entry for rows in entries.values() for entry in rows]
    products, blocked = _products({e[0] for e in candidates} | {e[3] for e in candidates if e[3]})
    blocked |= set(leave_out)
    result = {}
    for customer in customers:
        kept: list[tuple[float, ProductCard, str, int]] = []
        for product_id, score, reason, because_id in entries[customer.pk]:
            product = products.get(product_id)
            if product is None or not product.is_active or product_id in blocked or not rules.allows(product):
                continue
            if product_id in bought[customer.pk] and not rules.repeatable(product):
                continue
            kept.append((score * rules.boost(product), product, reason, because_id))
        kept.sort(key=lambda entry: -entry[0])
        # the reasons' text (a translation each) only for what is shown
        result[customer.pk] = [
            Suggestion(
                product,
                score,
                reason,
                reason_text(reason, product=products.get(because_id), city=customer.city),
                products.get(because_id),
            )
            for score, product, reason, because_id in kept[:limit]
        ]
    return result


def for_customers(
    customer_ids: Iterable[int], *, limit: int = 10, leave_out: Collection[int] = ()
) -> dict[int, list[Suggestion]]:
    """Each customer's suggestions (a campaign's batch of recipients): three queries in all;
    customers left with nothing have an empty list."""
    customers = listed(Customer.objects.filter(pk__in=list(customer_ids)))
    return suggestions_for(customers, limit=limit, leave_out=leave_out)


def for_customer(customer: Customer, *, limit: int = 10) -> list[Suggestion]:
    """Up to ``limit`` products for the customer, best first, none out of stock or excluded."""
    return for_customers([customer.pk], limit=limit).get(customer.pk, [])


def _card_by_sku_query(markers: list[int], _shape: object) -> QuerySet[Product, tuple[Any, ...]]:
    return Product.objects.filter(sku=str(markers[0])).order_by().values_list(*_CARD_COLUMNS)


_CARD_BY_SKU_READ = Prepared(_card_by_sku_query)


def card_by_sku(sku: str) -> ProductCard | None:
    """The product a shop names by SKU, as a card (one prepared query), or None."""
    rows = _CARD_BY_SKU_READ.rows([sku])
    return ProductCard(*rows[0]) if rows else None


_RELATED_COLUMNS = [
    *(f"related__{column}" for column in _CARD_COLUMNS),
    *("kind", "score", "support", "confidence", "lift", "out_of_stock", "rules_count", "rules_changed"),
]


def _related_query(markers: list[int], _shape: object) -> QuerySet[RelatedProduct, tuple[Any, ...]]:
    rows = with_stock(RelatedProduct.objects.filter(product_id=markers[0]), "related_id").annotate(**rules_version())
    return rows.order_by("-kind", "rank").values_list(*_RELATED_COLUMNS)


# asked for beside every product page: compiled once per process
_RELATED_READ = Prepared(_related_query)


def related(product: Product | ProductCard, *, limit: int = 10) -> list[Suggestion]:
    """Products shown beside ``product``: bought together first (with the rule's support,
    confidence and lift), then similar; the same filters. One query with the products' stock."""
    rows = _RELATED_READ.rows([product.pk])
    if not rows:
        return []
    rules = Rules.current(rows[0][-2:])
    seen: set[int] = set()
    suggestions = []
    asked = product if isinstance(product, ProductCard) else ProductCard.of(product)
    width = len(_CARD_COLUMNS)
    for row in rows:
        candidate = ProductCard(*row[:width])
        kind, score, support, confidence, lift, out_of_stock = row[width:-2]
        if candidate.pk in seen or out_of_stock or not candidate.is_active or not rules.allows(candidate):
            continue
        seen.add(candidate.pk)
        if kind == RelatedProduct.Kind.TOGETHER:
            reason = Reason.TOGETHER
            measures = {
                "support": round(support or 0, 4),
                "confidence": round(confidence or 0, 4),
                "lift": round(lift or 0, 3),
            }
        else:
            reason, measures = Reason.SIMILAR, {}
        text = reason_text(reason, product=asked)
        suggestions.append(Suggestion(candidate, score, reason, text, asked, measures))
    return suggestions[:limit]
