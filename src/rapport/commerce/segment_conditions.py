"""The order conditions of the segment rule language, registered by the commerce app::

    {"type": "orders", "metric": "count", "op": "gte", "value": 2, "window_days": 365}
    {"type": "bought", "op": "did", "categories": ["tea"], "skus": ["TEA-1"], "window_days": 90}

Both count only the orders that count as purchases (``Order.objects.counted()``). See
``docs/segment-rules.md`` for every measure and operator.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import COUNTED_STATUSES, Category, Order, OrderLine, Product
from rapport.commerce.queries import counted
from rapport.segments import operators as ops
from rapport.segments.conditions import (
    DID,
    WINDOW,
    as_list,
    compare,
    customers_in,
    model_entity,
    py_compare,
    subject_entry,
    window_start,
)
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
    register_source,
)

ORDER_METRICS = ("count", "sum", "average", "last_order_at")


NUMERIC_OPS = ("gt", "gte", "lt", "lte", "eq", "between")


def _counted_orders(window: int | None, now: dt.datetime) -> Any:
    """The orders that count, of known customers (so ``NOT IN`` never meets a NULL)."""
    orders = Order.objects.counted().filter(customer__isnull=False)
    start = window_start(window, now)
    return orders.filter(placed_at__gte=start) if start else orders


def _cents(value: Any) -> int:
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


class OrdersCondition(ConditionType):
    """Order aggregates over a window: how many, how much, average order value, last order.

    Money is compared in whole cents (rounded sums), so SQLite's floating sums and PostgreSQL's
    exact ones give the same answer; an average compares as ``sum >= value × count``.
    """

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        metric = condition.get("metric")
        if metric not in ORDER_METRICS:
            raise ops.fail(f"{path}.metric", f"one of: {', '.join(ORDER_METRICS)}")
        window = ops.clean_window(condition, path)
        if metric == "last_order_at":
            op, value = ops.clean_operand("datetime", condition.get("op"), condition.get("value"), path)
            return {"metric": metric, "op": op, "value": value}
        if condition.get("op") not in NUMERIC_OPS:
            raise ops.fail(f"{path}.op", f"one of: {', '.join(NUMERIC_OPS)}")
        op, value = ops.clean_operand("number", condition.get("op"), condition.get("value"), path)
        if metric == "count" and any(Decimal(v) != Decimal(v).to_integral_value() for v in as_list(value)):
            raise ops.fail(f"{path}.value", "an order count is a whole number")
        return {"metric": metric, "op": op, "value": value, "window_days": window}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        metric, op = condition["metric"], condition["op"]
        if metric == "last_order_at" and op in ("is_set", "is_not_set"):
            has_orders = Q(Exists(_counted_orders(None, context.now).filter(customer=OuterRef("pk"))))
            return has_orders if op == "is_set" else ~has_orders
        if metric == "count":
            existence = _count_as_existence(_checks(condition))
            if existence is not None:
                # "ordered at all" / "never ordered": an index probe, not an aggregate of every order
                any_order = Q(
                    Exists(_counted_orders(condition.get("window_days"), context.now).filter(customer=OuterRef("pk")))
                )
                return any_order if existence else ~any_order
        return customers_in(
            _order_groups(condition.get("window_days"), context.now),
            _having(condition, context),
            matches_none=_matches_no_orders(condition),
        )

    def combine_key(self, condition: Mapping[str, Any]) -> Any:
        """Aggregates over one window that need orders to hold share one grouped query."""
        if condition["metric"] == "last_order_at":
            return None if condition["op"] in ("is_set", "is_not_set") else ("window", None)
        if _matches_no_orders(condition):
            return None
        if condition["metric"] == "count" and _count_as_existence(_checks(condition)) is not None:
            return None
        return ("window", condition.get("window_days"))

    def q_combined(self, conditions: list[Mapping[str, Any]], context: Context) -> Q:
        having = _all(_having(condition, context) for condition in conditions)
        return customers_in(_order_groups(conditions[0].get("window_days"), context.now), having, matches_none=False)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        metric, op, value = condition["metric"], condition["op"], condition["value"]
        orders = [o for o in facts["orders"] if o["status"] in COUNTED_STATUSES]
        if metric == "last_order_at":
            last = max((o["placed_at"] for o in orders), default=None)
            return ops.operand_matches(last, "datetime", op, value, context.now)
        start = window_start(condition.get("window_days"), context.now)
        window = [o for o in orders if start is None or o["placed_at"] >= start]
        count = len(window)
        cents = sum(_cents(o["total"]) for o in window)
        bounds = value if op == "between" else [value]
        checks = []
        for o, v in _ops_for(op, bounds):
            if metric == "count":
                checks.append(py_compare(count, o, int(Decimal(v))))
            elif metric == "sum":
                checks.append(py_compare(cents, o, _cents(v)))
            else:
                checks.append(count > 0 and py_compare(cents, o, count * _cents(v)))
        return all(checks)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The customer's measure: count, sum or average in the window, or the last order's time."""
        orders = [o for o in facts["orders"] if o["status"] in COUNTED_STATUSES]
        metric = condition["metric"]
        if metric == "last_order_at":
            return max((o["placed_at"] for o in orders), default=None)
        start = window_start(condition.get("window_days"), context.now)
        totals = [o["total"] for o in orders if start is None or o["placed_at"] >= start]
        if metric == "count":
            return len(totals)
        total = sum(totals, Decimal("0"))
        if metric == "sum":
            return total
        return (total / len(totals)).quantize(Decimal("0.01")) if totals else None


def _order_groups(window: int | None, now: dt.datetime) -> Any:
    """Counted orders in the window, one row per customer with ``n`` and ``cents`` (and, over
    all time, the ``last`` order's time).

    ``count(*)`` and the total are in the partial index on counted orders, so PostgreSQL can
    aggregate from an index-only scan.
    """
    grouped = (
        _counted_orders(window, now)
        .values("customer_id")
        .annotate(n=Count("*"), cents=Round(Sum("total") * 100, output_field=IntegerField()))
    )
    return grouped if window else grouped.annotate(last=Max("placed_at"))


def _checks(condition: Mapping[str, Any]) -> list[tuple[str, Any]]:
    value = condition["value"]
    return _ops_for(condition["op"], value if condition["op"] == "between" else [value])


def _having(condition: Mapping[str, Any], context: Context) -> Q:
    """The condition's test on one customer's group (``n`` orders worth ``cents``, the ``last``)."""
    if condition["metric"] == "last_order_at":
        return ops.operand_q(F("last"), "datetime", condition["op"], condition["value"], context.now)
    checks = _checks(condition)
    if condition["metric"] == "count":
        return _all(compare(F("n"), o, int(Decimal(v))) for o, v in checks)
    if condition["metric"] == "sum":
        return _all(compare(F("cents"), o, _cents(v)) for o, v in checks)
    # average: sum >= value × count, only for customers with orders
    return _all(compare(F("cents"), o, F("n") * Value(_cents(v))) for o, v in checks)


def _matches_no_orders(condition: Mapping[str, Any]) -> bool:
    """Whether a customer without orders in the window passes (``count < 2``, ``sum <= 100``)."""
    if condition["metric"] == "last_order_at":
        return False
    checks = _checks(condition)
    if condition["metric"] == "count":
        return all(py_compare(0, o, int(Decimal(v))) for o, v in checks)
    if condition["metric"] == "sum":
        return all(py_compare(0, o, _cents(v)) for o, v in checks)
    return False


def _count_as_existence(checks: list[tuple[str, Any]]) -> bool | None:
    """True when the count checks mean "at least one order", False for "none", else None."""
    bounds = [int(Decimal(v)) for _o, v in checks]
    holds = [all(py_compare(n, o, int(Decimal(v))) for o, v in checks) for n in range(max([*bounds, 0]) + 3)]
    if not holds[0] and all(holds[1:]):
        return True
    if holds[0] and not any(holds[1:]):
        return False
    return None


def _ops_for(op: str, bounds: list[Any]) -> list[tuple[str, Any]]:
    return [("gte", bounds[0]), ("lte", bounds[1])] if op == "between" else [(op, bounds[0])]


def _all(parts: Any) -> Q:
    combined = Q()
    for part in parts:
        combined &= part
    return combined


class BoughtCondition(ConditionType):
    """Bought (or never bought) given products or categories within a window."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("did", "did_not"):
            raise ops.fail(f"{path}.op", "one of: did, did_not")
        skus, categories = condition.get("skus"), condition.get("categories")
        if not skus and not categories:
            raise ops.fail(f"{path}.skus", "name the products (skus) or the categories bought")
        for name, values in (("skus", skus), ("categories", categories)):
            if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
                raise ops.fail(f"{path}.{name}", "expected a list of codes")
        return {
            "op": op,
            "skus": sorted(set(skus or [])),
            "categories": sorted(set(categories or [])),
            "window_days": ops.clean_window(condition, path),
        }

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        lines = OrderLine.objects.filter(counted("order__"), order__customer=OuterRef("pk"))
        start = window_start(condition.get("window_days"), context.now)
        if start:
            lines = lines.filter(order__placed_at__gte=start)
        # The categories' ids, looked up now: with the ids in the SQL (as a hand-written query has
        # them) PostgreSQL estimates the lines from the products' statistics; behind a join on the
        # category code it misjudged them and built a hash of every matching line in each worker.
        category_ids = list(Category.objects.filter(code__in=condition["categories"]).values_list("pk", flat=True))
        lines = lines.filter(Q(sku__in=condition["skus"]) | Q(product__category_id__in=category_ids))
        bought = Q(Exists(lines))
        return bought if condition["op"] == "did" else ~bought

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        start = window_start(condition.get("window_days"), context.now)
        bought = any(
            line["sku"] in condition["skus"] or line["category"] in condition["categories"]
            for order in facts["orders"]
            if order["status"] in COUNTED_STATUSES and (start is None or order["placed_at"] >= start)
            for line in order["lines"]
        )
        return bought if condition["op"] == "did" else not bought

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The wanted SKUs and categories the customer bought in the window."""
        start = window_start(condition.get("window_days"), context.now)
        return sorted(
            {
                found
                for order in facts["orders"]
                if order["status"] in COUNTED_STATUSES and (start is None or order["placed_at"] >= start)
                for line in order["lines"]
                for found in (line["sku"], line["category"])
                if found in condition["skus"] or found in condition["categories"]
            }
        )


def _order_facts(ids: list[int]) -> dict[int, Any]:
    orders: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_id: dict[int, dict[str, Any]] = {}
    for row in Order.objects.filter(customer_id__in=ids).values("pk", "customer_id", "status", "total", "placed_at"):
        order = {**row, "lines": []}
        by_id[row["pk"]] = order
        orders[row["customer_id"]].append(order)
    for line in OrderLine.objects.filter(order_id__in=list(by_id)).values("order_id", "sku", "product__category__code"):
        by_id[line["order_id"]]["lines"].append({"sku": line["sku"], "category": line["product__category__code"]})
    return {pk: orders.get(pk, []) for pk in ids}


ORDER_METRIC_LABELS: dict[str, Any] = {
    "count": _("Number of orders"),
    "sum": _("Amount spent"),
    "average": _("Average order value"),
    "last_order_at": _("Last order"),
}


def order_metric_source() -> list[dict[str, Any]]:
    entries = []
    for metric in ORDER_METRICS:
        kind = {"count": "integer", "last_order_at": "datetime"}.get(metric, "number")
        entry = subject_entry(metric, ORDER_METRIC_LABELS[metric], kind)
        entry["operators"] = list(ops.DATE_OPS if metric == "last_order_at" else NUMERIC_OPS)
        entry["window"] = metric != "last_order_at"  # last_order_at looks at all orders
        entries.append(entry)
    return entries


def register() -> None:
    register_entity(
        model_entity(
            "product",
            _("Product"),
            lambda: Product.objects.order_by("name"),
            value="sku",
            search=("name", "sku"),
            show=lambda p: f"{p.name} ({p.sku})",
            permission="commerce.view_product",
        )
    )
    register_entity(
        model_entity(
            "category",
            _("Category"),
            lambda: Category.objects.order_by("name"),
            value="code",
            search=("name", "code"),
            show=lambda c: c.name,
            permission="commerce.view_category",
        )
    )
    register_facts("orders", _order_facts)
    register_source(
        "categories", lambda: [{"value": c.code, "label": c.name} for c in Category.objects.order_by("name")]
    )
    register_source("order_metrics", order_metric_source)
    register_condition(
        OrdersCondition(
            "orders",
            _("Orders"),
            facts=("orders",),
            fields=(
                Field("metric", _("Measure"), "choice", source="order_metrics"),
                Field("op", _("Test"), "operator", source="order_metrics", depends_on="metric"),
                Field("value", _("Value"), "operand", source="order_metrics", depends_on="metric"),
                WINDOW,
            ),
        )
    )
    register_condition(
        BoughtCondition(
            "bought",
            _("Bought"),
            facts=("orders",),
            fields=(
                Field("op", _("Test"), "choice", choices=DID),
                Field("skus", _("Products"), "multi", required=False, entity="product"),
                Field("categories", _("Categories"), "multi", required=False, source="categories", entity="category"),
                WINDOW,
            ),
        )
    )
