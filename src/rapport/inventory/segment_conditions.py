"""Segment rule condition on stock, for the loop with marketing::

    {"type": "low_stock_interest", "via": "bought" | "viewed" | "either", "days": 90}

A customer who bought (counted orders) or viewed (``Product Viewed`` events) within ``days`` a
product that is now low — some stock item of it has an open low-stock warning (at or below its
reorder point) — matches: the audience to tell "only a few left", or to leave out of a push for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import OrderLine, Product
from rapport.commerce.queries import counted
from rapport.events.queries import product_views, viewed_skus
from rapport.inventory.models import LowStockAlert
from rapport.segments import operators as ops
from rapport.segments.rules import ConditionType, Context, Facts, Field, register_condition

VIA = ("bought", "viewed", "either")
MAX_DAYS = 3650


def low_products() -> QuerySet[Product]:
    return Product.objects.filter(Exists(LowStockAlert.objects.filter(closed_at=None, item__product=OuterRef("pk"))))


class LowStockInterestCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        via = condition.get("via", "either")
        if via not in VIA:
            raise ops.fail(f"{path}.via", f"one of: {', '.join(VIA)}")
        days = condition.get("days", 90)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise ops.fail(f"{path}.days", f"a whole number of days from 1 to {MAX_DAYS}")
        return {"via": via, "days": days}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        since = context.now - dt.timedelta(days=condition["days"])
        low = low_products()
        bought = Exists(
            OrderLine.objects.filter(
                counted("order__"), order__customer=OuterRef("pk"), order__placed_at__gte=since, product__in=low
            )
        )
        viewed = Exists(
            product_views(since)
            .annotate(viewed_sku=KeyTextTransform("sku", "properties"))
            .filter(customer=OuterRef("pk"), viewed_sku__in=low.values("sku"))
        )
        return {"bought": Q(bought), "viewed": Q(viewed), "either": Q(bought) | Q(viewed)}[condition["via"]]

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The low products (SKUs) the customer bought or viewed within the window."""
        since = context.now - dt.timedelta(days=condition["days"])
        low = set(low_products().values_list("sku", flat=True))
        mine: set[str] = set()
        if condition["via"] in ("bought", "either"):
            mine |= {sku for sku, at in facts["stock_interest"]["bought"] if at >= since}
        if condition["via"] in ("viewed", "either"):
            mine |= set(viewed_skus([facts["stock_interest"]["customer"]], since)[facts["stock_interest"]["customer"]])
        return sorted(mine & low)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        return bool(self.actual(condition, facts, context))


def _interest_facts(ids: list[int]) -> dict[int, Any]:
    bought: dict[int, list[tuple[str, dt.datetime]]] = {pk: [] for pk in ids}
    rows = (
        OrderLine.objects.filter(counted("order__"), order__customer_id__in=ids)
        .exclude(product=None)
        .values_list("order__customer_id", "product__sku", "order__placed_at")
    )
    for customer_id, sku, at in rows:
        bought[customer_id].append((sku, at))
    return {pk: {"customer": pk, "bought": bought[pk]} for pk in ids}


def register() -> None:
    from rapport.segments.rules import register_facts

    register_facts("stock_interest", _interest_facts)
    register_condition(
        LowStockInterestCondition(
            "low_stock_interest",
            _("Bought or viewed products with low stock"),
            facts=("stock_interest",),
            fields=(
                Field(
                    "via",
                    _("How"),
                    "choice",
                    choices=(("either", _("Bought or viewed")), ("bought", _("Bought")), ("viewed", _("Viewed"))),
                    default="either",
                ),
                Field("days", _("Within"), "integer", default=90, unit=_("days")),
            ),
        )
    )
