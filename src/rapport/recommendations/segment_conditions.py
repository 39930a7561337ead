"""Segment rule conditions on the nightly recommendations::

    {"type": "recommended_category", "category": "tea", "top": 10}
    {"type": "recommended_overstock", "top": 10, "category": ""}

A customer matches ``recommended_category`` when one of the first ``top`` products of their
stored list is in the category (or below it, one level down): the audience that would welcome a
push of that category. ``recommended_overstock`` matches when one of them is overstocked now
(:func:`rapport.inventory.queries.overstocked`), optionally only in a category: the customers
with the highest predicted affinity for the stock to move — a plan's audience for pushing
overstock. Both read the precomputed list, before stock and exclusions are applied at request time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import Category, Product
from rapport.inventory.queries import overstocked
from rapport.recommendations.models import Recommendation
from rapport.segments import operators as ops
from rapport.segments.rules import ConditionType, Context, Facts, Field, register_condition, register_facts

MAX_TOP = 30  # the stored list's length


def _category_products(code: str) -> list[int]:
    return list(
        Product.objects.filter(Q(category__code=code) | Q(category__parent__code=code)).values_list("pk", flat=True)
    )


def _clean_top_and_category(condition: Mapping[str, Any], path: str, *, optional: bool) -> dict[str, Any]:
    """How many of the first ranks to look at, and the category (which may be left out when ``optional``)."""
    code = condition.get("category") or ("" if optional else None)
    if not isinstance(code, str) or ((code or not optional) and not Category.objects.filter(code=code).exists()):
        raise ops.fail(f"{path}.category", f"no category {code!r}", code="not_found")
    top = condition.get("top", 10)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ops.fail(f"{path}.top", f"a whole number from 1 to {MAX_TOP}")
    return {"category": code, "top": top}


class RecommendedCategoryCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        return _clean_top_and_category(condition, path, optional=False)

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return _ranked_among(_category_products(condition["category"]), condition["top"])

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The recommended products (SKUs) of the category within the top ranks."""
        return _top_skus(facts["recommended"], condition["top"], set(_category_products(condition["category"])))

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        return bool(self.actual(condition, facts, context))


def _ranked_among(products: list[int], top: int) -> Q:
    """Customers with one of ``products`` among the first ``top`` of their stored list."""
    if not products:
        return Q(pk__in=[])
    ranked = Q()
    for rank in range(top):  # one JSON element test per rank: works on SQLite and PostgreSQL
        ranked |= Q(**{f"items__products__{rank}__in": products})
    return Q(pk__in=Recommendation.objects.filter(ranked).values("customer_id"))


def _top_skus(recommended: list[int], top: int, wanted: set[int]) -> list[str]:
    chosen = [p for p in recommended[:top] if p in wanted]
    return sorted(Product.objects.filter(pk__in=chosen).values_list("sku", flat=True))


def _overstocked_products(category: str) -> list[int]:
    products = set(overstocked().values_list("product_id", flat=True))
    return sorted(products & set(_category_products(category)) if category else products)


class RecommendedOverstockCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        return _clean_top_and_category(condition, path, optional=True)

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return _ranked_among(_overstocked_products(condition["category"]), condition["top"])

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The overstocked products (SKUs) within the customer's top ranks."""
        wanted = set(_overstocked_products(condition["category"]))
        return _top_skus(facts["recommended"], condition["top"], wanted)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        return bool(self.actual(condition, facts, context))


def _recommended_facts(ids: list[int]) -> dict[int, Any]:
    lists = dict(Recommendation.objects.filter(customer_id__in=ids).values_list("customer_id", "items"))
    return {pk: list((lists.get(pk) or {}).get("products") or []) for pk in ids}


def register() -> None:
    register_facts("recommended", _recommended_facts)
    register_condition(
        RecommendedCategoryCondition(
            "recommended_category",
            _("Recommended a product in a category"),
            facts=("recommended",),
            fields=(
                Field("category", _("Category"), "text", entity="category"),
                Field("top", _("Among the first"), "integer", default=10, unit=_("recommendations")),
            ),
        )
    )
    register_condition(
        RecommendedOverstockCondition(
            "recommended_overstock",
            _("Recommended an overstocked product"),
            facts=("recommended",),
            fields=(
                Field("top", _("Among the first"), "integer", default=10, unit=_("recommendations")),
                Field("category", _("In category (optional)"), "text", entity="category", required=False),
            ),
        )
    )
