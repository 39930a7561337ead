"""The behaviour-event condition of the segment rule language, registered by the events app::

    {"type": "event", "op": "did", "name": "Product Viewed", "min_count": 2, "window_days": 30,
     "where": [{"property": "category", "op": "eq", "value": "tea"}]}

See ``docs/segment-rules.md``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
)
from django.db.models.lookups import (
    Exact,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core import pii
from rapport.events import personal
from rapport.events.models import Event
from rapport.segments import operators as ops
from rapport.segments.conditions import (
    DID,
    JSON_KEY,
    WINDOW,
    JsonKind,
    JsonText,
    compare,
    customers_in,
    json_number,
    op_choices,
    py_compare,
    window_start,
)
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_facts,
    register_source,
)

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
        start = window_start(condition.get("window_days"), context.now)
        if start:
            events = events.filter(timestamp__gte=start)
        for item in condition["where"]:
            events = events.filter(_property_q(item))
        if condition["min_count"] == 1:
            did = Q(Exists(events))  # a semi-join (anti-join for did_not) on PostgreSQL
        else:
            grouped = events.values("customer_id").annotate(n=Count("*"))
            did = customers_in(grouped, Q(n__gte=condition["min_count"]), matches_none=False)
        return did if condition["op"] == "did" else ~did

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        start = window_start(condition.get("window_days"), context.now)
        count = sum(
            1
            for event in facts["events"]
            if event["name"] == condition["name"]
            and (start is None or event["timestamp"] >= start)
            and all(_property_matches(event["properties"], item) for item in condition["where"])
        )
        did = count >= condition["min_count"]
        return did if condition["op"] == "did" else not did


def _sealed_equal_q(prop: str, op: str, value: Any) -> Q:
    """A personal property is stored sealed: equal means the same blind index (no other comparison)."""
    if op not in ("eq", "neq"):
        return Q(pk__in=[])
    index = personal.index_for(prop, value)
    equal = Q(**{f"properties__{prop}__{pii.SEALED_INDEX}": index}) if index else Q(pk__in=[])
    return equal if op == "eq" else ~equal


def _property_q(item: Mapping[str, Any]) -> Q:
    prop, op, value = item["property"], item["op"], item["value"]
    if personal.is_personal_key(prop):
        return _sealed_equal_q(prop, op, value)
    if op in ("gt", "gte", "lt", "lte"):
        return compare(json_number("properties", prop), op, float(value))
    kind = JsonKind("properties", prop)
    if op == "contains":
        return Q(Exact(kind, "string")) & ops.contains_q(JsonText("properties", prop), value)
    if isinstance(value, bool):
        equal = Q(Exact(kind, "true" if value else "false"))
    elif isinstance(value, int | float):
        equal = Q(Exact(kind, "number")) & Q(Exact(json_number("properties", prop), float(value)))
    else:
        equal = Q(Exact(kind, "string")) & Q(Exact(JsonText("properties", prop), value))
    return equal if op == "eq" else ~equal


def _property_matches(properties: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    actual = properties.get(item["property"])
    op, value = item["op"], item["value"]
    if personal.is_personal_key(item["property"]):
        if op not in ("eq", "neq"):
            return False
        index = personal.index_for(item["property"], value)
        same = bool(index) and isinstance(actual, dict) and actual.get(pii.SEALED_INDEX) == index
        return same if op == "eq" else not same
    is_number = isinstance(actual, int | float) and not isinstance(actual, bool)
    if op in ("gt", "gte", "lt", "lte"):
        return is_number and py_compare(actual, op, value)
    if op == "contains":
        return isinstance(actual, str) and ops.ascii_lower(value) in ops.ascii_lower(actual)
    if isinstance(value, bool):
        equal = actual is value
    elif isinstance(value, int | float):
        equal = is_number and actual == value
    else:
        equal = isinstance(actual, str) and actual == value
    return equal if op == "eq" else not equal


def _event_facts(ids: list[int]) -> dict[int, Any]:
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in Event.objects.filter(customer_id__in=ids).values("customer_id", "name", "timestamp", "properties"):
        events[row["customer_id"]].append(dict(row))
    return {pk: events.get(pk, []) for pk in ids}


def event_name_source() -> list[dict[str, Any]]:
    """Event names seen in the last 90 days (at most 200), each with the property keys the latest
    events of that name carried (read from a sample: the events table is large)."""
    since = timezone.now() - dt.timedelta(days=90)
    names = (
        Event.objects.filter(timestamp__gte=since)
        .exclude(name="")
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")[:200]
    )
    keys: dict[str, set[str]] = defaultdict(set)
    sample = Event.objects.filter(timestamp__gte=since).order_by("-timestamp")[:PROPERTY_SAMPLE]
    for name, properties in sample.values_list("name", "properties"):
        if isinstance(properties, dict):
            keys[name].update(k for k in properties if JSON_KEY.match(k))
    return [{"value": name, "label": name, "properties": sorted(keys.get(name, ()))} for name in names]


PROPERTY_SAMPLE = 2000


def register() -> None:
    register_facts("events", _event_facts)
    register_source("event_names", event_name_source)
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
                        Field("op", _("Test"), "choice", choices=op_choices(PROPERTY_OPS)),
                        Field("value", _("Value"), "scalar"),
                    ),
                ),
            ),
        )
    )
