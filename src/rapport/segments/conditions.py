"""The condition types of the customer, commerce and events domains.

Other apps (tags, analytics, loyalty, consent) register theirs the same way in their own
``segment_conditions`` module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Expression, Func
from django.db.models.functions import Cast, Round
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import COUNTED_STATUSES, Category, Order, OrderLine
from rapport.commerce.queries import counted
from rapport.customers.models import Channel, Customer, CustomFieldDefinition, Gender, MemberStatus, Store
from rapport.events.models import Event
from rapport.segments import operators as ops
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_facts,
    register_source,
)

# Profile fields ----------------------------------------------------------------------------

# choice labels stay lazy: the builder shows them in the reader's language
PROFILE_FIELDS: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "name": ("text", ()),
    "gender": ("choice", tuple((str(v), label) for v, label in Gender.choices)),
    "birthday": ("date", ()),
    "age": ("integer", ()),
    "city": ("text", ()),
    "member_status": ("choice", tuple((str(v), label) for v, label in MemberStatus.choices)),
    "registered_at": ("datetime", ()),
    "registration_channel": ("choice", tuple((str(v), label) for v, label in Channel.choices)),
}


MAX_AGE = 150


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age_q(op: str, value: Any, now: dt.datetime) -> Q:
    """Age in whole years, as bounds on the birthday (so the birthday index serves it)."""
    today = now.date()

    def at_least(age: int) -> Q:
        return Q(birthday__lte=years_before(today, age))

    def at_most(age: int) -> Q:
        return Q(birthday__gt=years_before(today, age + 1))

    if op == "is_set":
        return Q(birthday__isnull=False)
    if op == "is_not_set":
        return Q(birthday__isnull=True)
    if op == "between":
        return at_least(int(Decimal(value[0]))) & at_most(int(Decimal(value[1])))
    age = int(Decimal(value))
    return {
        "eq": at_least(age) & at_most(age),
        "neq": Q(birthday__isnull=True) | ~(at_least(age) & at_most(age)),
        "gt": at_least(age + 1),
        "gte": at_least(age),
        "lt": at_most(age - 1),
        "lte": at_most(age),
    }[op]


def age_on(birthday: dt.date | None, today: dt.date) -> int | None:
    if birthday is None:
        return None
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


class ProfileCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        field = condition.get("field")
        if field not in PROFILE_FIELDS:
            raise ops.fail(f"{path}.field", f"one of: {', '.join(PROFILE_FIELDS)}")
        kind, choices = PROFILE_FIELDS[field]
        op, value = ops.clean_operand(kind, condition.get("op"), condition.get("value"), path, [c for c, _ in choices])
        if field == "age" and value is not None and not all(0 <= int(Decimal(v)) <= MAX_AGE for v in _as_list(value)):
            raise ops.fail(f"{path}.value", f"an age from 0 to {MAX_AGE}")
        return {"field": field, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        field, op, value = condition["field"], condition["op"], condition["value"]
        if field == "age":
            return _age_q(op, value, context.now)
        kind = PROFILE_FIELDS[field][0]
        return ops.operand_q(F(field), kind, op, value, context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        customer = facts["customer"]
        field = condition["field"]
        kind = PROFILE_FIELDS[field][0]
        actual = age_on(customer["birthday"], context.now.date()) if field == "age" else customer[field]
        return ops.operand_matches(actual, kind, condition["op"], condition["value"], context.now)


JSON_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _json_path(key: str) -> str:
    """An SQLite JSON path to one key, quoted so that a key of digits is not an array index."""
    if not JSON_KEY.match(key):
        raise ValueError(f"not a JSON key for segment rules: {key!r}")
    return f'$."{key}"'


class _JsonKeyFunc(Func):
    """A function of ``field -> key`` on SQLite and PostgreSQL (keys of letters, digits, _)."""

    def __init__(self, field: str, key: str, **extra: Any) -> None:
        _json_path(key)
        self.key = key
        super().__init__(F(field), **extra)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError("JSON values are read on SQLite and PostgreSQL only")


class JsonKind(_JsonKeyFunc):
    """The JSON kind of ``field -> key``: ``true``, ``false``, ``number``, ``string``, ``array``
    or ``other`` (missing, null, object), the same on SQLite and PostgreSQL (so ``true`` never
    equals ``1``). Never NULL."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"CASE json_type({sql}, %s) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            "WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' WHEN 'text' THEN 'string' "
            "WHEN 'array' THEN 'array' ELSE 'other' END",
            [*params, _json_path(self.key)],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"({sql} -> %s)"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'boolean' THEN ({value})::text WHEN 'number' THEN 'number' "
            "WHEN 'string' THEN 'string' WHEN 'array' THEN 'array' ELSE 'other' END",
            [*params, self.key, *params, self.key],
        )


class JsonText(_JsonKeyFunc):
    """``field -> key`` as SQL text for a JSON string (a number stays a number on SQLite, so
    read it only after checking :class:`JsonKind`). NULL when missing or null."""

    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({sql}, %s)", [*params, _json_path(self.key)]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ->> %s)", [*params, self.key]


class JsonArrayLength(_JsonKeyFunc):
    """How many items the array at ``field -> key`` holds; 0 when it is not an array."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        path = _json_path(self.key)
        return (
            f"CASE json_type({sql}, %s) WHEN 'array' THEN json_array_length({sql}, %s) ELSE 0 END",
            [*params, path, *params, path],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"({sql} -> %s)"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'array' THEN jsonb_array_length({value}) ELSE 0 END",
            [*params, self.key, *params, self.key],
        )


class JsonArrayHas(_JsonKeyFunc):
    """The array at ``field -> key`` holds the text ``item`` (exactly). Never NULL."""

    output_field = BooleanField()

    def __init__(self, field: str, key: str, item: str) -> None:
        self.item = item
        super().__init__(field, key)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        path = _json_path(self.key)
        return (
            f"(json_type({sql}, %s) = 'array' AND EXISTS (SELECT 1 FROM json_each({sql}, %s) AS item "  # noqa: S608
            "WHERE item.type = 'text' AND item.value = %s))",
            [*params, path, *params, path, self.item],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE(jsonb_typeof({sql} -> %s) = 'array' AND ({sql} -> %s) @> %s::jsonb, false)",
            [*params, self.key, *params, self.key, json.dumps([self.item])],
        )


def _json_number(field: str, key: str) -> Expression:
    """A JSON value as a number where it is one, NULL otherwise (text never compares as a number)."""
    return Case(
        When(Q(Exact(JsonKind(field, key), "number")), then=Cast(JsonText(field, key), FloatField())),
        default=Value(None),
        output_field=FloatField(),
    )


_CUSTOM_KIND: dict[str, str] = {
    CustomFieldDefinition.FieldType.TEXT: "text",
    CustomFieldDefinition.FieldType.INTEGER: "number",
    CustomFieldDefinition.FieldType.DECIMAL: "number",
    CustomFieldDefinition.FieldType.DATE: "date",
    CustomFieldDefinition.FieldType.BOOLEAN: "boolean",
    CustomFieldDefinition.FieldType.CHOICE: "choice",
    CustomFieldDefinition.FieldType.MULTI_CHOICE: "multi",
}


class CustomFieldCondition(ConditionType):
    """A merchant-defined profile field; the operators follow the field's type."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        key = condition.get("key")
        definition = CustomFieldDefinition.objects.filter(key=key).first() if isinstance(key, str) else None
        if definition is None:
            raise ops.fail(f"{path}.key", f"no custom field {key!r}")
        kind = _CUSTOM_KIND[definition.field_type]
        op, value = ops.clean_operand(kind, condition.get("op"), condition.get("value"), path, definition.choices)
        return {"key": key, "kind": kind, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        key, kind, op, value = condition["key"], condition["kind"], condition["op"], condition["value"]
        json_kind = JsonKind("custom_fields", key)
        if kind == "boolean":
            return Q(Exact(json_kind, "true" if op == "is_true" else "false"))
        if kind == "multi":
            if op in ("is_set", "is_not_set"):
                length = JsonArrayLength("custom_fields", key)
                return Q(GreaterThan(length, 0)) if op == "is_set" else Q(Exact(length, 0))
            parts = [Q(JsonArrayHas("custom_fields", key, v)) for v in value]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined | part if op == "contains_any" else combined & part
            return combined
        # whole numbers are kept as JSON numbers, decimals as JSON text ("38.5"); both validated
        readable = ["number", "string"] if kind == "number" else ["string"]
        text = Case(
            When(Q(In(json_kind, readable)), then=JsonText("custom_fields", key)),
            default=Value(None),
            output_field=TextField(),
        )
        if kind == "number":
            return ops.operand_q(Cast(text, FloatField()), kind, op, value, context.now)
        if kind == "date":
            return ops.operand_q(Cast(text, DateField()), "date", op, value, context.now)
        return ops.operand_q(text, kind, op, value, context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        kind, op, value = condition["kind"], condition["op"], condition["value"]
        actual = (facts["customer"]["custom_fields"] or {}).get(condition["key"])
        if kind == "number":
            actual = actual if isinstance(actual, int | float | str) and not isinstance(actual, bool) else None
            try:
                actual = None if actual is None else Decimal(str(actual))
            except ArithmeticError:
                actual = None
        elif kind == "multi":
            actual = actual if isinstance(actual, list) else None
        elif kind != "boolean":
            actual = actual if isinstance(actual, str) else None
            if kind == "date" and actual:
                actual = dt.date.fromisoformat(actual)
        return ops.operand_matches(actual, kind, op, value, context.now)


class StoreCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        codes = list(Store.objects.values_list("code", flat=True))
        op, value = ops.clean_operand("choice", condition.get("op"), condition.get("value"), path, codes)
        if op in ("eq", "neq"):
            op, value = ("in" if op == "eq" else "not_in"), [value]
        return {"op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return ops.operand_q(F("store__code"), "choice", condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        actual = facts["customer"]["store_code"]
        return ops.operand_matches(actual, "choice", condition["op"], condition["value"], context.now)


class OwnerCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        names = list(get_user_model().objects.values_list("username", flat=True))
        op, value = ops.clean_operand("choice", condition.get("op"), condition.get("value"), path, names)
        if op in ("eq", "neq"):
            op, value = ("in" if op == "eq" else "not_in"), [value]
        return {"op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return ops.operand_q(F("owner__username"), "choice", condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        actual = facts["customer"]["owner_username"]
        return ops.operand_matches(actual, "choice", condition["op"], condition["value"], context.now)


# Orders -------------------------------------------------------------------------------------

ORDER_METRICS = ("count", "sum", "average", "last_order_at")
NUMERIC_OPS = ("gt", "gte", "lt", "lte", "eq", "between")


def _window_start(window: int | None, now: dt.datetime) -> dt.datetime | None:
    return now - dt.timedelta(days=window) if window else None


def _counted_orders(window: int | None, now: dt.datetime) -> Any:
    """The orders that count, of known customers (so ``NOT IN`` never meets a NULL)."""
    orders = Order.objects.counted().filter(customer__isnull=False)
    start = _window_start(window, now)
    return orders.filter(placed_at__gte=start) if start else orders


class InGroups(Func):
    """The customer is among the ``customer_id`` of ``groups`` (an uncorrelated, grouped query),
    written ``EXISTS (SELECT 1 FROM (groups) AS g WHERE g.customer_id = customer.id)``.

    At the top of a rule PostgreSQL turns it into a hash semi-join (``NOT``: anti-join) that
    aggregates the rows once. Under ``any``/``not`` it stays a correlated sub-plan, and then the
    customer's id is pushed into the grouped query, so each customer costs one index probe; an
    ``IN (groups)`` there would scan the whole result per customer once it outgrows work_mem.
    """

    output_field = BooleanField()

    def __init__(self, groups: Any) -> None:
        super().__init__(Subquery(groups.values("customer_id")), F("pk"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        groups_sql, groups_params = compiler.compile(self.source_expressions[0])
        pk_sql, pk_params = compiler.compile(self.source_expressions[1])
        sql = f"EXISTS (SELECT 1 FROM {groups_sql} AS segment_groups WHERE segment_groups.customer_id = {pk_sql})"  # noqa: S608
        return sql, [*groups_params, *pk_params]


def _customers_in(grouped: Any, having: Q, *, matches_none: bool) -> Q:
    """Customers whose group of rows passes ``having`` (see :class:`InGroups`). ``matches_none``
    says whether a customer without rows passes (``count < 2`` holds for them): then it is
    "not among those whose group fails". Two-valued: EXISTS is never NULL."""
    if matches_none:
        return ~Q(InGroups(grouped.filter(~having)))
    return Q(InGroups(grouped.filter(having)))


def _cents(value: Any) -> int:
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def _compare(left: Any, op: str, right: Any) -> Q:
    lookup = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual, "eq": Exact}[op]
    return Q(lookup(left, right))


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
        if metric == "count" and any(Decimal(v) != Decimal(v).to_integral_value() for v in _as_list(value)):
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
        return _customers_in(
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
        return _customers_in(_order_groups(conditions[0].get("window_days"), context.now), having, matches_none=False)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        metric, op, value = condition["metric"], condition["op"], condition["value"]
        orders = [o for o in facts["orders"] if o["status"] in COUNTED_STATUSES]
        if metric == "last_order_at":
            last = max((o["placed_at"] for o in orders), default=None)
            return ops.operand_matches(last, "datetime", op, value, context.now)
        start = _window_start(condition.get("window_days"), context.now)
        window = [o for o in orders if start is None or o["placed_at"] >= start]
        count = len(window)
        cents = sum(_cents(o["total"]) for o in window)
        bounds = value if op == "between" else [value]
        checks = []
        for o, v in _ops_for(op, bounds):
            if metric == "count":
                checks.append(_py_compare(count, o, int(Decimal(v))))
            elif metric == "sum":
                checks.append(_py_compare(cents, o, _cents(v)))
            else:
                checks.append(count > 0 and _py_compare(cents, o, count * _cents(v)))
        return all(checks)


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
        return _all(_compare(F("n"), o, int(Decimal(v))) for o, v in checks)
    if condition["metric"] == "sum":
        return _all(_compare(F("cents"), o, _cents(v)) for o, v in checks)
    # average: sum >= value × count, only for customers with orders
    return _all(_compare(F("cents"), o, F("n") * Value(_cents(v))) for o, v in checks)


def _matches_no_orders(condition: Mapping[str, Any]) -> bool:
    """Whether a customer without orders in the window passes (``count < 2``, ``sum <= 100``)."""
    if condition["metric"] == "last_order_at":
        return False
    checks = _checks(condition)
    if condition["metric"] == "count":
        return all(_py_compare(0, o, int(Decimal(v))) for o, v in checks)
    if condition["metric"] == "sum":
        return all(_py_compare(0, o, _cents(v)) for o, v in checks)
    return False


def _count_as_existence(checks: list[tuple[str, Any]]) -> bool | None:
    """True when the count checks mean "at least one order", False for "none", else None."""
    bounds = [int(Decimal(v)) for _o, v in checks]
    holds = [all(_py_compare(n, o, int(Decimal(v))) for o, v in checks) for n in range(max([*bounds, 0]) + 3)]
    if not holds[0] and all(holds[1:]):
        return True
    if holds[0] and not any(holds[1:]):
        return False
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ops_for(op: str, bounds: list[Any]) -> list[tuple[str, Any]]:
    return [("gte", bounds[0]), ("lte", bounds[1])] if op == "between" else [(op, bounds[0])]


def _all(parts: Any) -> Q:
    combined = Q()
    for part in parts:
        combined &= part
    return combined


def _py_compare(left: Any, op: str, right: Any) -> bool:
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
        "eq": left == right,
    }[op]


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
        start = _window_start(condition.get("window_days"), context.now)
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
        start = _window_start(condition.get("window_days"), context.now)
        bought = any(
            line["sku"] in condition["skus"] or line["category"] in condition["categories"]
            for order in facts["orders"]
            if order["status"] in COUNTED_STATUSES and (start is None or order["placed_at"] >= start)
            for line in order["lines"]
        )
        return bought if condition["op"] == "did" else not bought


# Events --------------------------------------------------------------------------------------

PROPERTY_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains")


class EventCondition(ConditionType):
    """Did (at least ``min_count`` times) or did not do an event within a window, optionally
    only counting events whose properties match every ``where`` filter."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("did", "did_not"):
            raise ops.fail(f"{path}.op", "one of: did, did_not")
        name = condition.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ops.fail(f"{path}.name", "name the event, e.g. Product Viewed")
        min_count = condition.get("min_count", 1)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or not 1 <= min_count <= 100000:
            raise ops.fail(f"{path}.min_count", "a whole number from 1")
        filters = []
        for i, item in enumerate(condition.get("where") or []):
            where = f"{path}.where.{i}"
            if not isinstance(item, dict):
                raise ops.fail(where, "expected {property, op, value}")
            prop = item.get("property")
            if not isinstance(prop, str) or not JSON_KEY.match(prop):
                raise ops.fail(f"{where}.property", "a property name of letters A–Z, digits and _")
            if item.get("op") not in PROPERTY_OPS:
                raise ops.fail(f"{where}.op", f"one of: {', '.join(PROPERTY_OPS)}")
            value = item.get("value")
            if item["op"] in ("gt", "gte", "lt", "lte"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ops.fail(f"{where}.value", "a number")
            elif item["op"] == "contains":
                if not isinstance(value, str) or not value:
                    raise ops.fail(f"{where}.value", "a text value")
            elif not isinstance(value, str | int | float | bool):
                raise ops.fail(f"{where}.value", "a text, number or true/false")
            filters.append({"property": prop, "op": item["op"], "value": value})
        return {
            "op": op,
            "name": name.strip(),
            "min_count": min_count,
            "window_days": ops.clean_window(condition, path),
            "where": filters,
        }

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        events = Event.objects.filter(name=condition["name"])
        if condition["min_count"] == 1:
            events = events.filter(customer_id=OuterRef("pk"))
        else:
            events = events.filter(customer_id__isnull=False)
        start = _window_start(condition.get("window_days"), context.now)
        if start:
            events = events.filter(timestamp__gte=start)
        for item in condition["where"]:
            events = events.filter(_property_q(item))
        if condition["min_count"] == 1:
            did = Q(Exists(events))  # a semi-join (anti-join for did_not) on PostgreSQL
        else:
            grouped = events.values("customer_id").annotate(n=Count("*"))
            did = _customers_in(grouped, Q(n__gte=condition["min_count"]), matches_none=False)
        return did if condition["op"] == "did" else ~did

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        start = _window_start(condition.get("window_days"), context.now)
        count = sum(
            1
            for event in facts["events"]
            if event["name"] == condition["name"]
            and (start is None or event["timestamp"] >= start)
            and all(_property_matches(event["properties"], item) for item in condition["where"])
        )
        did = count >= condition["min_count"]
        return did if condition["op"] == "did" else not did


def _property_q(item: Mapping[str, Any]) -> Q:
    prop, op, value = item["property"], item["op"], item["value"]
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(_json_number("properties", prop), op, float(value))
    kind = JsonKind("properties", prop)
    if op == "contains":
        return Q(Exact(kind, "string")) & ops.contains_q(JsonText("properties", prop), value)
    if isinstance(value, bool):
        equal = Q(Exact(kind, "true" if value else "false"))
    elif isinstance(value, int | float):
        equal = Q(Exact(kind, "number")) & Q(Exact(_json_number("properties", prop), float(value)))
    else:
        equal = Q(Exact(kind, "string")) & Q(Exact(JsonText("properties", prop), value))
    return equal if op == "eq" else ~equal


def _property_matches(properties: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    actual = properties.get(item["property"])
    op, value = item["op"], item["value"]
    is_number = isinstance(actual, int | float) and not isinstance(actual, bool)
    if op in ("gt", "gte", "lt", "lte"):
        return is_number and _py_compare(actual, op, value)
    if op == "contains":
        return isinstance(actual, str) and ops.ascii_lower(value) in ops.ascii_lower(actual)
    if isinstance(value, bool):
        equal = actual is value
    elif isinstance(value, int | float):
        equal = is_number and actual == value
    else:
        equal = isinstance(actual, str) and actual == value
    return equal if op == "eq" else not equal


# Facts for the reference evaluator ---------------------------------------------------------


def _customer_facts(ids: list[int]) -> dict[int, Any]:
    rows = Customer.objects.filter(pk__in=ids).values(
        "pk", *[f for f in PROFILE_FIELDS if f != "age"], "custom_fields", "store__code", "owner__username"
    )
    return {
        row["pk"]: {**row, "store_code": row["store__code"], "owner_username": row["owner__username"]} for row in rows
    }


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


def _event_facts(ids: list[int]) -> dict[int, Any]:
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in Event.objects.filter(customer_id__in=ids).values("customer_id", "name", "timestamp", "properties"):
        events[row["customer_id"]].append(dict(row))
    return {pk: events.get(pk, []) for pk in ids}


# The rule builder's catalogue ------------------------------------------------------------------

PROFILE_LABELS: dict[str, Any] = {
    "name": _("Name"),
    "gender": _("Gender"),
    "birthday": _("Birthday"),
    "age": _("Age"),
    "city": _("City"),
    "member_status": _("Member status"),
    "registered_at": _("Registered"),
    "registration_channel": _("Registration channel"),
}
ORDER_METRIC_LABELS: dict[str, Any] = {
    "count": _("Number of orders"),
    "sum": _("Amount spent"),
    "average": _("Average order value"),
    "last_order_at": _("Last order"),
}


def _subject(value: str, label: Any, kind: str, choices: Any = ()) -> dict[str, Any]:
    return {"value": value, "label": str(label), "kind": kind, "choices": [[c, str(cl)] for c, cl in choices]}


def profile_field_source() -> list[dict[str, Any]]:
    """Profile fields with their choices ("unknown", the empty value, is asked with "is not set")."""
    return [
        _subject(name, PROFILE_LABELS[name], kind, [(c, label) for c, label in choices if c])
        for name, (kind, choices) in PROFILE_FIELDS.items()
    ]


def custom_field_source() -> list[dict[str, Any]]:
    return [
        _subject(d.key, d.label, _CUSTOM_KIND[d.field_type], [(c, c) for c in d.choices or []])
        for d in CustomFieldDefinition.objects.filter(is_active=True).order_by("position", "key")
    ]


def order_metric_source() -> list[dict[str, Any]]:
    entries = []
    for metric in ORDER_METRICS:
        kind = {"count": "integer", "last_order_at": "datetime"}.get(metric, "number")
        entry = _subject(metric, ORDER_METRIC_LABELS[metric], kind)
        entry["operators"] = list(ops.DATE_OPS if metric == "last_order_at" else NUMERIC_OPS)
        entry["window"] = metric != "last_order_at"  # last_order_at looks at all orders
        entries.append(entry)
    return entries


def event_name_source() -> list[dict[str, Any]]:
    """Event names seen in the last 90 days (at most 200): the events table is large."""
    since = timezone.now() - dt.timedelta(days=90)
    names = (
        Event.objects.filter(timestamp__gte=since)
        .exclude(name="")
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")[:200]
    )
    return [{"value": name, "label": name} for name in names]


def _op_choices(names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, ops.OP_LABELS[name]) for name in names)


DID = _op_choices(("did", "did_not"))
WINDOW = Field("window_days", _("Within the last … days"), "days", required=False)


def _operand_fields(subject: str, source: str) -> tuple[Field, ...]:
    return (
        Field(subject, _("Field"), "choice", source=source),
        Field("op", _("Test"), "operator", source=source, depends_on=subject),
        Field("value", _("Value"), "operand", required=False, source=source, depends_on=subject),
    )


def _choice_fields(source: str) -> tuple[Field, ...]:
    return (
        Field("op", _("Test"), "operator", operand_kind="choice"),
        Field("value", _("Value"), "operand", required=False, operand_kind="choice", source=source),
    )


def register() -> None:
    register_facts("customer", _customer_facts)
    register_facts("orders", _order_facts)
    register_facts("events", _event_facts)
    register_source("profile_fields", profile_field_source)
    register_source("custom_fields", custom_field_source)
    register_source(
        "stores", lambda: [{"value": s.code, "label": f"{s.name} ({s.code})"} for s in Store.objects.order_by("code")]
    )
    register_source(
        "owners",
        lambda: [
            {"value": u.get_username(), "label": u.get_full_name() or u.get_username()}
            for u in get_user_model().objects.filter(is_active=True).order_by("username")
        ],
    )
    register_source(
        "categories", lambda: [{"value": c.code, "label": c.name} for c in Category.objects.order_by("name")]
    )
    register_source("order_metrics", order_metric_source)
    register_source("event_names", event_name_source)
    register_condition(
        ProfileCondition(
            "profile", _("Profile field"), facts=("customer",), fields=_operand_fields("field", "profile_fields")
        )
    )
    register_condition(
        CustomFieldCondition(
            "custom_field", _("Custom field"), facts=("customer",), fields=_operand_fields("key", "custom_fields")
        )
    )
    register_condition(StoreCondition("store", _("Store"), facts=("customer",), fields=_choice_fields("stores")))
    register_condition(OwnerCondition("owner", _("Owner"), facts=("customer",), fields=_choice_fields("owners")))
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
            layout="bought",
            fields=(
                Field("op", _("Test"), "choice", choices=DID),
                Field("skus", _("Products (SKUs)"), "multi", required=False),
                Field("categories", _("Categories"), "multi", required=False, source="categories"),
                WINDOW,
            ),
        )
    )
    register_condition(
        EventCondition(
            "event",
            _("Behaviour event"),
            facts=("events",),
            layout="event",
            fields=(
                Field("op", _("Test"), "choice", choices=DID),
                Field("name", _("Event"), "text", source="event_names"),
                Field("min_count", _("At least … times"), "integer", required=False, default=1),
                WINDOW,
                Field(
                    "where",
                    _("Where"),
                    "filters",
                    required=False,
                    parts=(
                        Field("property", _("Property"), "text"),
                        Field("op", _("Test"), "choice", choices=_op_choices(PROPERTY_OPS)),
                        Field("value", _("Value"), "scalar"),
                    ),
                ),
            ),
        )
    )
