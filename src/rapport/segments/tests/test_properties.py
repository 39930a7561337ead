"""Property test: for random data and random rules, the compiled query selects exactly the
customers the plain-Python reference evaluator selects, on whichever database the suite runs.

Each example draws a small shop (customers with profile and custom fields, orders with lines,
behaviour events, all placed around the boundaries that rules care about: age birthdays, window
starts, cents that floats add up wrongly, JSON values of every type) and a few random rules
nested up to three deep over every registered condition type. The shop is written with
``bulk_create`` inside a savepoint that is rolled back after the example.

Condition types registered by other apps are covered by a plug-in: a module
``rapport.<app>.tests.segment_properties`` with a ``PLUGIN`` object offering ``setup(world)``,
``customer_data(world)`` (a strategy for one customer's extra data), ``save(world, pairs)``
(write it for ``[(customer_id, data), ...]``) and ``conditions(world)`` (a dict of condition
type → strategy of rule JSON). ``test_every_condition_type_is_generated`` fails until a new
type has one.

``RAPPORT_PROPERTY_EXAMPLES`` sets how many examples to try (default 100, about 20 s).
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rapport.commerce.models import Order, OrderLine, OrderStatus
from rapport.commerce.services import save_category, upsert_product
from rapport.customers.models import Channel, Customer, Gender, MemberStatus, Store
from rapport.customers.services import save_custom_field
from rapport.events.models import Event, Source
from rapport.segments import operators as ops
from rapport.segments.compiler import members, reference_members
from rapport.segments.conditions import PROFILE_FIELDS, years_before
from rapport.segments.rules import condition_types

pytestmark = pytest.mark.django_db

# Fixed moments "now": an ordinary day, the eve of a 29 February, and a 29 February itself.
NOWS = (
    dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC),
    dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 29, 0, 0, tzinfo=dt.UTC),
)
WINDOWS = (1, 7, 30, 90, 365)
DAY_OFFSETS = (0, 1, 2, 6, 7, 8, 29, 30, 31, 89, 90, 91, 364, 365, 366, 1000)
SECOND_OFFSETS = (-1, 0, 1, 3600, -43200)

TEXTS = ("Amy", "amy", "AMY", "Élodie", "élodie", "上海", "北京", "a%b", "a_b", "O'Neil", "x\\y", "ß", "é")
FRAGMENTS = ("a", "A", "my", "É", "é", "上", "%", "_", "'", "\\", "ss", "ß", "lo")
CHOICES = ("gold", "Gold", "silver", "绿茶", 'say "hi"', "a,b", "x\\y")
MONEY = ("0", "0.01", "0.10", "0.20", "0.30", "10.10", "20.20", "30.30", "15.15", "33.33", "99.99", "100")
NUMBERS = (0, 1, 2, -1, 38, 42, 88, 12.5, 38.5, 0.1, 0.2, 0.3, 1000000)
SKUS = ("TEA-1", "TEA-2", "MUG-1", "LOOSE")  # LOOSE is sold without a catalogue product
CATEGORIES = ("tea", "green", "ware")
EVENT_NAMES = ("Product Viewed", "product viewed", "Signed Up", "Order Completed")
PROPERTIES = ("price", "sku", "vip", "qty", "n2")
PROPERTY_VALUES: tuple[Any, ...] = (
    88,
    88.0,
    "88",
    12.5,
    "12.5",
    0,
    1,
    -3,
    True,
    False,
    None,
    "",
    "TEA-1",
    "tea-1",
    "True",
    "É",
    [1, 2],
    {"a": 1},
)

CUSTOM_FIELDS = (
    ("tier", "choice"),
    ("size", "decimal"),
    ("shoe", "integer"),
    ("vip", "boolean"),
    ("likes", "multi_choice"),
    ("since", "date"),
    ("note", "text"),
    ("2024", "text"),  # a key of digits only, which JSON paths must not read as an array index
)


@dataclass
class World:
    """What every example shares: definitions, stores, owners, catalogue, event source."""

    stores: list[Store]
    owners: list[Any]
    source: Source
    products: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


def _plugins() -> list[Any]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("rapport.") or config.name == "rapport.segments":
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.segment_properties")
        except ModuleNotFoundError:
            continue
        found.append(module.PLUGIN)
    return found


class TagPlugin:
    """The ``tag`` condition of :mod:`rapport.tags`, while that app has no plug-in of its own."""

    def setup(self, world: World) -> None:
        from rapport.tags.models import Tag, TagCategory

        category = TagCategory.objects.create(name="Value")
        world.extra["tags"] = [Tag.objects.create(category=category, name=name) for name in ("VIP", "vip", "新客")]

    def customer_data(self, world: World) -> st.SearchStrategy[Any]:
        return st.lists(st.sampled_from([tag.pk for tag in world.extra["tags"]]), unique=True, max_size=3)

    def save(self, world: World, pairs: list[tuple[int, Any]]) -> None:
        from rapport.tags.models import CustomerTag

        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        CustomerTag.objects.bulk_create(
            CustomerTag(customer_id=pk, tag_id=tag_id, added_at=moment, added_by_label="test", source="system")
            for pk, tag_ids in pairs
            for tag_id in tag_ids
        )

    def conditions(self, world: World) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        refs = [ref for tag in world.extra["tags"] for ref in (tag.pk, f"Value/{tag.name}")]
        return {
            "tag": st.builds(
                lambda op, tags: {"type": "tag", "op": op, "tags": tags},
                st.sampled_from(("has_any", "has_all", "has_none")),
                st.lists(st.sampled_from(refs), min_size=1, max_size=3),
            )
        }


PLUGINS = _plugins()
if apps.is_installed("rapport.tags") and "tag" in condition_types() and not any(hasattr(p, "tags") for p in PLUGINS):
    PLUGINS.append(TagPlugin())


@pytest.fixture
def world(system_actor: Any) -> World:
    for key, field_type in CUSTOM_FIELDS:
        data: dict[str, Any] = {"key": key, "label": key, "field_type": field_type}
        if field_type in ("choice", "multi_choice"):
            data["choices"] = list(CHOICES)
        save_custom_field(data=data, actor=system_actor)
    stores = [Store.objects.create(code=code, name=code) for code in ("sh-01", "bj-01", "gz-01")]
    owners = [get_user_model().objects.create(username=name) for name in ("seller", "Seller", "lin")]
    save_category(data={"code": "tea", "name": "Tea"}, actor=system_actor)
    save_category(data={"code": "green", "name": "Green tea", "parent": "tea"}, actor=system_actor)
    save_category(data={"code": "ware", "name": "Ware"}, actor=system_actor)
    products = {}
    for sku, category in (("TEA-1", "tea"), ("TEA-2", "green"), ("MUG-1", "ware")):
        product = upsert_product(data={"sku": sku, "name": sku, "price": "1", "category": category}, actor=system_actor)
        products[sku] = (product[0] if isinstance(product, tuple) else product).pk
    source = Source.objects.create(name="web", identity_channel="web", write_key="k", write_key_hash="h")
    built = World(stores=stores, owners=owners, source=source, products=products)
    for plugin in PLUGINS:
        plugin.setup(built)
    return built


# Data ----------------------------------------------------------------------------------------


# seconds before "now": on, just before and just after each window start, and a few after now
OFFSETS = sorted(
    {sign * days * 86400 - seconds for days in DAY_OFFSETS for seconds in SECOND_OFFSETS for sign in (1, -1)}
)


def moments(now: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    """Moments around the window starts before ``now`` (and a few after it)."""
    offsets = st.sampled_from(OFFSETS) | st.integers(-5 * 86400, 400 * 86400)
    return offsets.map(lambda seconds: now - dt.timedelta(seconds=seconds))


def birthdays(now: dt.datetime) -> st.SearchStrategy[dt.date | None]:
    """No birthday, or one within two days of an age birthday, or a 29 February."""
    today = now.date()
    near = [years_before(today, years) + dt.timedelta(days=days) for years in range(101) for days in range(-2, 3)]
    leap = [dt.date(2000, 2, 29), dt.date(1996, 2, 29), dt.date(2001, 3, 1), dt.date(2001, 2, 28)]
    return st.none() | st.sampled_from(near) | st.sampled_from(leap)


_MISSING = "<missing>"


def custom_value(field_type: str) -> st.SearchStrategy[Any]:
    """A stored value as the services store it, or a hole: missing key, JSON null, empty list."""
    valid: st.SearchStrategy[Any] = {
        "choice": st.sampled_from(CHOICES),
        "decimal": st.sampled_from((*MONEY, "-1.5", "38.5", "1E+1", "42")),
        "integer": st.integers(-3, 50),
        "boolean": st.booleans(),
        "multi_choice": st.lists(st.sampled_from(CHOICES), max_size=3, unique=True),
        "date": st.dates(dt.date(2019, 1, 1), dt.date(2029, 1, 1)).map(dt.date.isoformat),
        "text": st.sampled_from((*TEXTS, "")),
    }[field_type]
    return valid | st.sampled_from((None, _MISSING))


def customers(world: World, now: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    """One customer's profile, orders, events (and plug-ins' data), as plain values."""
    custom = st.fixed_dictionaries({key: custom_value(field_type) for key, field_type in CUSTOM_FIELDS}).map(
        lambda values: {key: value for key, value in values.items() if value != _MISSING}
    )
    fields = st.fixed_dictionaries(
        {
            "name": st.sampled_from((*TEXTS, "")),
            "gender": st.sampled_from(Gender.values),
            "birthday": birthdays(now),
            "city": st.sampled_from((*TEXTS, "")),
            "member_status": st.sampled_from(MemberStatus.values),
            "registered_at": moments(now),
            "registration_channel": st.sampled_from(Channel.values),
            "store_id": st.sampled_from([None, *(s.pk for s in world.stores)]),
            "owner_id": st.sampled_from([None, *(u.pk for u in world.owners)]),
            "custom_fields": custom,
        }
    )
    order = st.fixed_dictionaries(
        {
            "status": st.sampled_from(OrderStatus.values),
            "total": st.sampled_from(MONEY) | st.integers(0, 100000).map(lambda cents: f"{cents / 100:.2f}"),
            "placed_at": moments(now),
            "skus": st.lists(st.sampled_from(SKUS), max_size=3),
        }
    )
    event = st.fixed_dictionaries(
        {
            "name": st.sampled_from(EVENT_NAMES),
            "timestamp": moments(now),
            "properties": st.dictionaries(st.sampled_from(PROPERTIES), st.sampled_from(PROPERTY_VALUES), max_size=3),
        }
    )
    return st.fixed_dictionaries(
        {
            "fields": fields,
            "orders": st.lists(order, max_size=4),
            "events": st.lists(event, max_size=5),
            "extra": st.fixed_dictionaries({type(p).__name__: p.customer_data(world) for p in PLUGINS}),
        }
    )


_serial = itertools.count()


def save_shop(world: World, people: list[dict[str, Any]]) -> list[int]:
    created = Customer.objects.bulk_create([Customer(**person["fields"]) for person in people])
    ids = [c.pk for c in created]
    orders, skus = [], []
    for pk, person in zip(ids, people, strict=True):
        for order in person["orders"]:
            orders.append(
                Order(
                    customer_id=pk,
                    channel="web",
                    external_id=f"o{next(_serial)}",
                    status=order["status"],
                    total=Decimal(order["total"]),
                    subtotal=Decimal(order["total"]),
                    placed_at=order["placed_at"],
                )
            )
            skus.append(order["skus"])
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(
        OrderLine(
            order_id=order.pk,
            product_id=world.products.get(sku),
            sku=sku,
            name=sku,
            quantity=1,
            unit_price=Decimal(1),
            line_total=Decimal(1),
        )
        for order, order_skus in zip(orders, skus, strict=True)
        for sku in order_skus
    )
    Event.objects.bulk_create(
        Event(
            source=world.source,
            message_id=f"m{next(_serial)}",
            type="track",
            name=event["name"],
            customer_id=pk,
            timestamp=event["timestamp"],
            received_at=event["timestamp"],
            properties=event["properties"],
        )
        for pk, person in zip(ids, people, strict=True)
        for event in person["events"]
    )
    for plugin in PLUGINS:
        plugin.save(
            world, [(pk, person["extra"][type(plugin).__name__]) for pk, person in zip(ids, people, strict=True)]
        )
    return ids


# Rules ---------------------------------------------------------------------------------------


def day_strings(now: dt.datetime) -> st.SearchStrategy[str]:
    return st.builds(
        lambda days: (now.date() - dt.timedelta(days=days)).isoformat(), st.integers(-30, 40000)
    ) | st.sampled_from(("2000-02-29", "1996-02-29", "2001-03-01"))


def operand(kind: str, now: dt.datetime, choices: tuple[str, ...] = (), pool: tuple[Any, ...] = ()) -> Any:
    """A strategy of ``(op, value)`` valid for a field of ``kind``."""

    def value_for(op: str) -> st.SearchStrategy[Any]:
        if op in ("is_set", "is_not_set", "is_true", "is_false"):
            return st.none()
        if op in ("in", "not_in", "contains_any", "contains_all"):
            return st.lists(st.sampled_from(choices or pool), min_size=1, max_size=3)
        if op == "contains":
            return st.sampled_from(FRAGMENTS + pool)
        if op in ("within_last_days", "more_than_days_ago"):
            return st.sampled_from(DAY_OFFSETS) | st.integers(0, 36500)
        if kind in ("date", "datetime"):
            single = day_strings(now)
            return st.lists(single, min_size=2, max_size=2).map(sorted) if op == "between" else single
        if kind in ("number", "integer"):
            single = st.sampled_from(pool)
            pair = st.lists(single, min_size=2, max_size=2).map(lambda v: sorted(v, key=lambda n: Decimal(str(n))))
            return pair if op == "between" else single
        return st.sampled_from(choices or pool)

    return st.sampled_from(ops.OPS_BY_KIND[kind]).flatmap(lambda op: st.tuples(st.just(op), value_for(op)))


def profile_conditions(now: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    def for_field(name: str) -> st.SearchStrategy[dict[str, Any]]:
        kind, choices = PROFILE_FIELDS[name]
        pool: tuple[Any, ...] = {"text": TEXTS, "integer": tuple(range(0, 101, 1))}.get(kind, ())
        return operand(kind, now, tuple(c for c, _ in choices if c), pool).map(
            lambda pair: {"type": "profile", "field": name, "op": pair[0], "value": pair[1]}
        )

    return st.sampled_from(sorted(PROFILE_FIELDS)).flatmap(for_field)


_CUSTOM_KIND = {
    "choice": "choice",
    "decimal": "number",
    "integer": "number",
    "boolean": "boolean",
    "multi_choice": "multi",
    "date": "date",
    "text": "text",
}


def custom_conditions(now: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    def for_key(key: str, field_type: str) -> st.SearchStrategy[dict[str, Any]]:
        kind = _CUSTOM_KIND[field_type]
        pool: tuple[Any, ...] = {"number": (*NUMBERS, "38.5", "10.10", "1E+1"), "text": TEXTS}.get(kind, ())
        choices = CHOICES if kind in ("choice", "multi") else ()
        return operand(kind, now, choices, pool).map(
            lambda pair: {"type": "custom_field", "key": key, "op": pair[0], "value": pair[1]}
        )

    return st.sampled_from(CUSTOM_FIELDS).flatmap(lambda kf: for_key(*kf))


def store_conditions(world: World) -> st.SearchStrategy[dict[str, Any]]:
    codes = tuple(s.code for s in world.stores)
    return st.sampled_from(ops.CHOICE_OPS).flatmap(
        lambda op: st.builds(
            lambda value: {"type": "store", "op": op, "value": value},
            st.none()
            if op.startswith("is_")
            else st.lists(st.sampled_from(codes), min_size=1, max_size=2)
            if op.endswith("in")
            else st.sampled_from(codes),
        )
    )


def owner_conditions(world: World) -> st.SearchStrategy[dict[str, Any]]:
    names = tuple(u.username for u in world.owners)
    return st.sampled_from(ops.CHOICE_OPS).flatmap(
        lambda op: st.builds(
            lambda value: {"type": "owner", "op": op, "value": value},
            st.none()
            if op.startswith("is_")
            else st.lists(st.sampled_from(names), min_size=1, max_size=2)
            if op.endswith("in")
            else st.sampled_from(names),
        )
    )


windows = st.one_of(st.none(), st.sampled_from(WINDOWS))


def order_conditions(now: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    def numeric(metric: str) -> st.SearchStrategy[dict[str, Any]]:
        pool: st.SearchStrategy[Any] = st.integers(0, 5) if metric == "count" else st.sampled_from(MONEY)
        value = st.sampled_from(("gt", "gte", "lt", "lte", "eq", "between")).flatmap(
            lambda op: st.tuples(
                st.just(op),
                st.lists(pool, min_size=2, max_size=2).map(lambda v: sorted(v, key=Decimal))
                if op == "between"
                else pool,
            )
        )
        return st.builds(
            lambda pair, window: (
                {"type": "orders", "metric": metric, "op": pair[0], "value": pair[1]}
                | ({"window_days": window} if window else {})
            ),
            value,
            windows,
        )

    last = operand("datetime", now).map(
        lambda pair: {"type": "orders", "metric": "last_order_at", "op": pair[0], "value": pair[1]}
    )
    return st.one_of(numeric("count"), numeric("sum"), numeric("average"), last)


def bought_conditions() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda op, skus, categories, window: {
            "type": "bought",
            "op": op,
            "skus": skus,
            "categories": categories,
            "window_days": window,
        },
        st.sampled_from(("did", "did_not")),
        st.lists(st.sampled_from(SKUS), max_size=2),
        st.lists(st.sampled_from(CATEGORIES), max_size=2),
        windows,
    ).filter(lambda c: c["skus"] or c["categories"])


def property_filters() -> st.SearchStrategy[dict[str, Any]]:
    numbers = st.sampled_from((0, 1, 12.5, 88, 88.0, -3, 50))
    scalars = st.sampled_from(tuple(v for v in PROPERTY_VALUES if isinstance(v, str | int | float) and v != ""))
    return st.sampled_from(("eq", "neq", "gt", "gte", "lt", "lte", "contains")).flatmap(
        lambda op: st.builds(
            lambda prop, value: {"property": prop, "op": op, "value": value},
            st.sampled_from(PROPERTIES),
            numbers
            if op in ("gt", "gte", "lt", "lte")
            else st.sampled_from(("8", "tea", "TEA", "É", "é", "tru", "1"))
            if op == "contains"
            else scalars,
        )
    )


def event_conditions() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda op, name, min_count, window, where: {
            "type": "event",
            "op": op,
            "name": name,
            "min_count": min_count,
            "window_days": window,
            "where": where,
        },
        st.sampled_from(("did", "did_not")),
        st.sampled_from(EVENT_NAMES),
        st.sampled_from((1, 1, 2, 3)),
        windows,
        st.lists(property_filters(), max_size=2),
    )


def condition_strategies(world: World, now: dt.datetime) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    strategies = {
        "profile": profile_conditions(now),
        "custom_field": custom_conditions(now),
        "store": store_conditions(world),
        "owner": owner_conditions(world),
        "orders": order_conditions(now),
        "bought": bought_conditions(),
        "event": event_conditions(),
    }
    for plugin in PLUGINS:
        strategies.update(plugin.conditions(world))
    return strategies


def rules(world: World, now: dt.datetime) -> st.SearchStrategy[dict[str, Any]]:
    leaves = st.one_of(*condition_strategies(world, now).values())

    def groups(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
            st.lists(children, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
            children.map(lambda part: {"not": part}),
        )

    depth1 = leaves | groups(leaves)
    depth2 = leaves | groups(depth1)
    return leaves | groups(depth2)  # groups nest at most three deep


def leaves_of(rule: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in rule or "any" in rule:
        return [leaf for part in rule.get("all", rule.get("any", [])) for leaf in leaves_of(part)]
    if "not" in rule:
        return leaves_of(rule["not"])
    return [rule]


def disagreement(rule: dict[str, Any], now: dt.datetime, ids: list[int]) -> str:
    """The conditions that disagree on their own, with the customers they disagree on."""
    lines = [f"rule {rule}"]
    for leaf in leaves_of(rule):
        compiled = set(members(leaf, now=now).values_list("pk", flat=True))
        expected = reference_members(leaf, now=now, customer_ids=ids)
        if compiled != expected:
            lines.append(f"  {leaf}: only compiled {compiled - expected}, only reference {expected - compiled}")
            for pk in sorted(compiled ^ expected):
                orders = Order.objects.filter(customer_id=pk).values("status", "total", "placed_at")
                events = Event.objects.filter(customer_id=pk).values("name", "timestamp", "properties")
                lines.append(f"    #{pk}: {Customer.objects.filter(pk=pk).values().get()}")
                lines.append(f"      orders {list(orders)}")
                lines.append(f"      events {list(events)}")
    return "\n".join(lines)


# The property ----------------------------------------------------------------------------------


def test_every_condition_type_is_generated(world: World) -> None:
    missing = set(condition_types()) - set(condition_strategies(world, NOWS[0]))
    assert not missing, f"add strategies for {sorted(missing)} in rapport.<app>.tests.segment_properties"


@settings(
    max_examples=int(os.environ.get("RAPPORT_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    # no shrinking: each step writes a shop, so it takes minutes; ``disagreement`` names the
    # conditions that disagree and the customers they disagree on instead
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_compiled_rules_select_what_the_reference_selects(world: World, data: st.DataObject) -> None:
    now = data.draw(st.sampled_from(NOWS), label="now")
    if now not in world.extra:  # strategies are built once per moment: building them is slow
        world.extra[now] = (
            st.lists(customers(world, now), min_size=6, max_size=15),
            st.lists(rules(world, now), min_size=1, max_size=4),
        )
    shop, rule_lists = world.extra[now]
    people = data.draw(shop, label="customers")
    drawn = data.draw(rule_lists, label="rules")
    with transaction.atomic():
        ids = save_shop(world, people)
        try:
            for rule in drawn:
                compiled = set(members(rule, now=now).values_list("pk", flat=True))
                expected = reference_members(rule, now=now, customer_ids=ids)
                assert compiled == expected, disagreement(rule, now, ids)
        finally:
            transaction.set_rollback(True)
