"""The condition types of the customer, commerce and events domains.

Other apps (tags, analytics, loyalty, consent) register theirs the same way in their own
``segment_conditions`` module.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    CharField,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Expression, Func
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import COUNTED_STATUSES, Order, OrderLine
from rapport.customers.models import Channel, Customer, CustomFieldDefinition, Gender, MemberStatus, Store
from rapport.events.models import Event
from rapport.segments import operators as ops
from rapport.segments.rules import ConditionType, Context, Facts, register_condition, register_facts

# Profile fields ----------------------------------------------------------------------------

PROFILE_FIELDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "name": ("text", ()),
    "gender": ("choice", tuple((str(v), str(label)) for v, label in Gender.choices)),
    "birthday": ("date", ()),
    "age": ("integer", ()),
    "city": ("text", ()),
    "member_status": ("choice", tuple((str(v), str(label)) for v, label in MemberStatus.choices)),
    "registered_at": ("datetime", ()),
    "registration_channel": ("choice", tuple((str(v), str(label)) for v, label in Channel.choices)),
}


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


class JsonKind(Func):
    """The JSON kind of ``field -> key`` as ``true``, ``false``, ``number``, ``string`` or
    ``other``, the same on SQLite and PostgreSQL (so ``true`` never equals ``1``)."""

    output_field = CharField()

    def __init__(self, field: str, key: str) -> None:
        self.key = key
        super().__init__(F(field))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError("JSON kinds are read on SQLite and PostgreSQL only")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        kind = f"json_type({sql}, %s)"
        return (
            f"CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'integer' THEN 'number' "
            f"WHEN 'real' THEN 'number' WHEN 'text' THEN 'string' ELSE 'other' END",
            [*params, f"$.{self.key}"],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"({sql} -> %s)"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'boolean' THEN ({value})::text WHEN 'number' THEN 'number' "
            f"WHEN 'string' THEN 'string' ELSE 'other' END",
            [*params, self.key, *params, self.key],
        )


def _json_number(field: str, key: str) -> Expression:
    """A JSON value as a number where it is one, NULL otherwise (text never compares as a number)."""
    from django.db.models import Case, When

    return Case(
        When(Q(Exact(JsonKind(field, key), "number")), then=Cast(KeyTextTransform(key, field), FloatField())),
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
        if kind == "boolean":
            return Q(**{f"custom_fields__{key}": op == "is_true"})
        if kind == "multi":
            text = KeyTextTransform(key, "custom_fields")
            if op in ("is_set", "is_not_set"):
                empty = Q(IsNull(text, True)) | Q(Exact(text, "[]"))
                return ~empty if op == "is_set" else empty
            parts = [Q(IContains(text, f'"{v}"')) for v in value]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined | part if op == "contains_any" else combined & part
            return combined
        if kind == "number":
            # decimals are kept as JSON text ("38.5"), whole numbers as JSON numbers; both validated
            number = Cast(KeyTextTransform(key, "custom_fields"), FloatField())
            return ops.operand_q(number, kind, op, value, context.now)
        text = KeyTextTransform(key, "custom_fields")
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
        if kind == "date" and actual is not None:
            actual = dt.date.fromisoformat(actual)
        if kind == "multi" and not isinstance(actual, list):
            actual = None if op not in ("is_set", "is_not_set") else actual
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
    orders = Order.objects.filter(customer=OuterRef("pk"), status__in=COUNTED_STATUSES)
    start = _window_start(window, now)
    return orders.filter(placed_at__gte=start) if start else orders


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
        metric, op, value = condition["metric"], condition["op"], condition["value"]
        if metric == "last_order_at":
            last = Subquery(_counted_orders(None, context.now).order_by("-placed_at").values("placed_at")[:1])
            return ops.operand_q(last, "datetime", op, value, context.now)
        orders = _counted_orders(condition.get("window_days"), context.now).values("customer")
        count = Coalesce(Subquery(orders.annotate(n=Count("id")).values("n")), Value(0))
        cents = Coalesce(
            Subquery(orders.annotate(s=Round(Sum(F("total") * 100))).values("s")), Value(0), output_field=IntegerField()
        )
        bounds = value if op == "between" else [value]
        if metric == "count":
            parts = [(count, o, int(Decimal(v))) for o, v in _ops_for(op, bounds)]
            return _all(_compare(left, o, right) for left, o, right in parts)
        if metric == "sum":
            return _all(_compare(cents, o, _cents(v)) for o, v in _ops_for(op, bounds))
        # average: sum >= value × count, only for customers with orders
        has_orders = _compare(count, "gt", 0)
        return has_orders & _all(_compare(cents, o, count * Value(_cents(v))) for o, v in _ops_for(op, bounds))

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
        lines = OrderLine.objects.filter(order__customer=OuterRef("pk"), order__status__in=COUNTED_STATUSES)
        start = _window_start(condition.get("window_days"), context.now)
        if start:
            lines = lines.filter(order__placed_at__gte=start)
        lines = lines.filter(Q(sku__in=condition["skus"]) | Q(product__category__code__in=condition["categories"]))
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
            if not isinstance(prop, str) or not prop.replace("_", "").isalnum():
                raise ops.fail(f"{where}.property", "a property name of letters, digits and _")
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
        events = Event.objects.filter(customer_id=OuterRef("pk"), name=condition["name"])
        start = _window_start(condition.get("window_days"), context.now)
        if start:
            events = events.filter(timestamp__gte=start)
        for item in condition["where"]:
            events = events.filter(_property_q(item))
        if condition["min_count"] == 1:
            did = Q(Exists(events))
        else:
            count = Subquery(events.values("customer_id").annotate(n=Count("id")).values("n"))
            did = Q(GreaterThanOrEqual(Coalesce(count, Value(0)), condition["min_count"]))
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
    if op == "contains":
        return Q(IContains(KeyTextTransform(prop, "properties"), value))
    kind = JsonKind("properties", prop)
    if isinstance(value, bool):
        equal = Q(Exact(kind, "true" if value else "false"))
    elif isinstance(value, int | float):
        equal = Q(Exact(kind, "number")) & Q(Exact(_json_number("properties", prop), float(value)))
    else:
        equal = Q(Exact(kind, "string")) & Q(Exact(KeyTextTransform(prop, "properties"), value))
    return equal if op == "eq" else ~equal


def _property_matches(properties: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    actual = properties.get(item["property"])
    op, value = item["op"], item["value"]
    is_number = isinstance(actual, int | float) and not isinstance(actual, bool)
    if op in ("gt", "gte", "lt", "lte"):
        return is_number and _py_compare(actual, op, value)
    if op == "contains":
        return isinstance(actual, str) and value.lower() in actual.lower()
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


def register() -> None:
    register_facts("customer", _customer_facts)
    register_facts("orders", _order_facts)
    register_facts("events", _event_facts)
    register_condition(ProfileCondition("profile", _("Profile field"), facts=("customer",)))
    register_condition(CustomFieldCondition("custom_field", _("Custom field"), facts=("customer",)))
    register_condition(StoreCondition("store", _("Store"), facts=("customer",)))
    register_condition(OwnerCondition("owner", _("Owner"), facts=("customer",)))
    register_condition(OrdersCondition("orders", _("Orders"), facts=("orders",)))
    register_condition(BoughtCondition("bought", _("Bought"), facts=("orders",)))
    register_condition(EventCondition("event", _("Behaviour event"), facts=("events",)))
