"""Rules compile to one query whose answer equals the reference evaluator's, condition by condition."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.commerce.services import save_category, upsert_order, upsert_product
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.customers.services import assign_owner, save_custom_field
from rapport.events.models import Event, Source
from rapport.segments.compiler import members, reference_members
from rapport.segments.rules import clean_rule

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def shop(make_customer, system_actor, store, make_staff):
    save_custom_field(
        data={"key": "tier", "label": "Tier", "field_type": "choice", "choices": ["gold", "silver"]}, actor=system_actor
    )
    save_custom_field(data={"key": "size", "label": "Size", "field_type": "decimal"}, actor=system_actor)
    save_custom_field(data={"key": "vip", "label": "VIP", "field_type": "boolean"}, actor=system_actor)
    save_custom_field(
        data={
            "key": "likes",
            "label": "Likes",
            "field_type": "multi_choice",
            "choices": ["tea", "golf", "Tea", "绿茶"],
        },
        actor=system_actor,
    )
    save_custom_field(data={"key": "since", "label": "Since", "field_type": "date"}, actor=system_actor)
    save_custom_field(data={"key": "2024", "label": "Class of 2024", "field_type": "text"}, actor=system_actor)
    save_category(data={"code": "tea", "name": "Tea"}, actor=system_actor)
    upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88", "category": "tea"}, actor=system_actor)
    people = {
        "amy": make_customer(
            name="Amy",
            gender="female",
            birthday="1990-06-02",
            city="上海",
            store="sh-01",
            custom_fields={"tier": "gold", "size": "38.5", "vip": True, "likes": ["tea"], "since": "2020-01-01"},
        ),
        "bob": make_customer(
            name="Bob",
            gender="male",
            birthday="1990-06-01",
            city="北京",
            custom_fields={"tier": "silver", "size": "42", "vip": False, "likes": ["golf", "tea"]},
        ),
        "cai": make_customer(name="Cai", city="上海"),
        "eve": make_customer(name="Élodie", custom_fields={"2024": "yes", "likes": ["Tea", "绿茶"]}),
    }
    assign_owner(Customer.objects.filter(pk=people["bob"].pk), owner=make_staff(username="seller"), actor=system_actor)

    def buy(who, ext, total, days_ago, sku="TEA-1", status="completed"):
        upsert_order(
            data={
                "channel": "web",
                "external_id": ext,
                "customer_id": people[who].pk,
                "status": status,
                "placed_at": NOW - dt.timedelta(days=days_ago),
                "lines": [{"sku": sku, "name": sku, "quantity": 1, "unit_price": total}],
            },
            actor=system_actor,
        )

    buy("amy", "a1", "10.10", 5)
    buy("amy", "a2", "20.20", 40)
    buy("bob", "b1", "30.30", 200, sku="MUG-1")
    buy("bob", "b2", "99.00", 1, status="cancelled")
    source = Source.objects.create(name="web", identity_channel="web", write_key="k", write_key_hash="h")
    for i, (who, name, days, props) in enumerate(
        [
            ("amy", "Product Viewed", 1, {"sku": "TEA-1", "price": 88}),
            ("amy", "Product Viewed", 2, {"sku": "CUP", "price": "88"}),
            ("cai", "Product Viewed", 50, {"sku": "TEA-1", "price": 12.5}),
            ("bob", "Signed Up", 3, {"vip": True}),
            ("eve", "Product Viewed", 4, {"sku": "Été-1", "price": 8, "ok": True}),
        ]
    ):
        Event.objects.create(
            source=source,
            message_id=str(i),
            type="track",
            name=name,
            customer_id=people[who].pk,
            timestamp=NOW - dt.timedelta(days=days),
            received_at=NOW,
            properties=props,
        )
    return people


RULES = [
    {"type": "profile", "field": "gender", "op": "eq", "value": "female"},
    {"type": "profile", "field": "gender", "op": "neq", "value": "female"},
    {"type": "profile", "field": "age", "op": "gte", "value": 36},
    {"type": "profile", "field": "age", "op": "between", "value": [30, 35]},
    {"type": "profile", "field": "birthday", "op": "is_not_set"},
    {"type": "profile", "field": "city", "op": "in", "value": ["上海"]},
    {"type": "profile", "field": "name", "op": "contains", "value": "a"},
    {"type": "profile", "field": "registered_at", "op": "within_last_days", "value": 3650},
    {"type": "custom_field", "key": "tier", "op": "neq", "value": "gold"},
    {"type": "custom_field", "key": "size", "op": "gt", "value": 40},
    {"type": "custom_field", "key": "vip", "op": "is_true"},
    {"type": "custom_field", "key": "likes", "op": "contains_all", "value": ["tea", "golf"]},
    {"type": "custom_field", "key": "likes", "op": "is_not_set"},
    {"type": "custom_field", "key": "since", "op": "before", "value": "2021-01-01"},
    {"type": "store", "op": "in", "value": ["sh-01"]},
    {"type": "store", "op": "is_not_set"},
    {"type": "owner", "op": "eq", "value": "seller"},
    {"type": "orders", "metric": "count", "op": "gte", "value": 2},
    {"type": "orders", "metric": "sum", "op": "gte", "value": "30.30"},
    {"type": "orders", "metric": "sum", "op": "gte", "value": "30.30", "window_days": 30},
    {"type": "orders", "metric": "average", "op": "between", "value": [15, 16]},
    {"type": "orders", "metric": "count", "op": "eq", "value": 0},
    {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 100},
    {"type": "bought", "op": "did", "categories": ["tea"], "window_days": 30},
    {"type": "bought", "op": "did_not", "skus": ["MUG-1"]},
    {"type": "event", "op": "did", "name": "Product Viewed", "min_count": 2},
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "price", "op": "gte", "value": 50}],
    },
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "price", "op": "eq", "value": "88"}],
    },
    {"type": "event", "op": "did_not", "name": "Product Viewed", "window_days": 7},
    {"type": "event", "op": "did", "name": "Signed Up", "where": [{"property": "vip", "op": "eq", "value": True}]},
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "price", "op": "neq", "value": 88}],
    },
    {"type": "event", "op": "did", "name": "Signed Up", "where": [{"property": "vip", "op": "neq", "value": 1}]},
    {
        "any": [
            {"not": {"type": "profile", "field": "city", "op": "eq", "value": "北京"}},
            {"all": [{"type": "store", "op": "is_set"}, {"type": "orders", "metric": "count", "op": "lt", "value": 1}]},
        ]
    },
    # found by test_properties: NOT of a comparison with a missing value (SQL NULL) selects no one
    {"not": {"type": "store", "op": "in", "value": ["sh-01"]}},
    {"not": {"type": "profile", "field": "birthday", "op": "before", "value": "2000-01-01"}},
    {"not": {"type": "custom_field", "key": "vip", "op": "is_true"}},
    {"not": {"type": "custom_field", "key": "size", "op": "lt", "value": 40}},
    {"not": {"type": "orders", "metric": "last_order_at", "op": "within_last_days", "value": 30}},
    # contains folds A-Z only, on PostgreSQL too (whose upper() would fold É and é)
    {"type": "profile", "field": "name", "op": "contains", "value": "é"},
    {"type": "profile", "field": "name", "op": "contains", "value": "ÉL"},
    # a custom field keyed by digits is a key, not an array index
    {"type": "custom_field", "key": "2024", "op": "eq", "value": "yes"},
    # multi-choice values match exactly, case and all, and non-ASCII ones on SQLite too
    {"type": "custom_field", "key": "likes", "op": "contains_any", "value": ["tea"]},
    {"type": "custom_field", "key": "likes", "op": "contains_all", "value": ["绿茶"]},
    {"type": "custom_field", "key": "likes", "op": "is_set"},
    # "contains" on an event property only reads text: the number 88 does not contain "8"
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "price", "op": "contains", "value": "8"}],
    },
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "sku", "op": "contains", "value": "é"}],
    },
    {
        "type": "event",
        "op": "did",
        "name": "Product Viewed",
        "where": [{"property": "ok", "op": "contains", "value": "1"}],
    },
]


@pytest.mark.parametrize("rule", RULES, ids=[str(i) for i in range(len(RULES))])
def test_compiled_rule_matches_the_reference(shop, rule):
    ids = list(Customer.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        compiled = set(members(rule, now=NOW).values_list("pk", flat=True))
    assert compiled == reference_members(rule, now=NOW, customer_ids=ids)
    assert len([q for q in queries.captured_queries if "customers_customer" in q["sql"]]) == 1


def test_order_aggregates_over_one_window_share_one_grouped_query(shop):
    rule = {
        "all": [
            {"type": "orders", "metric": "count", "op": "between", "value": [2, 5], "window_days": 90},
            {"type": "orders", "metric": "average", "op": "gte", "value": 10, "window_days": 90},
            {"type": "orders", "metric": "sum", "op": "gte", "value": 30, "window_days": 90},
        ]
    }
    sql = str(members(rule, now=NOW).query)
    assert sql.count("GROUP BY") == 1
    ids = list(Customer.objects.values_list("pk", flat=True))
    assert set(members(rule, now=NOW).values_list("name", flat=True)) == {"Amy"}
    assert set(members(rule, now=NOW).values_list("pk", flat=True)) == reference_members(
        rule, now=NOW, customer_ids=ids
    )


def test_expected_members(shop):
    names = lambda rule: set(members(rule, now=NOW).values_list("name", flat=True))  # noqa: E731
    assert names(RULES[2]) == {"Bob"}  # Bob turned 36 on 1 June, Amy turns 36 tomorrow
    assert names(RULES[18]) == {"Amy", "Bob"}  # 10.10 + 20.20 is 30.30 exactly, on SQLite too
    assert names(RULES[26]) == {"Amy"}  # the string "88" is not a number


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"type": "profile", "field": "shoe", "op": "eq", "value": "x"}, "rule.field"),
        ({"type": "teleport"}, "rule.type"),
        ({"all": []}, "rule.all"),
        ({"all": [{"type": "orders", "metric": "count", "op": "gte", "value": "many"}]}, "rule.all.0.value"),
        ({"any": [{"type": "profile", "field": "gender", "op": "eq", "value": "robot"}]}, "rule.any.0.value"),
        ({"not": {"type": "event", "op": "did", "name": ""}}, "rule.not.name"),
        ({"all": [{"type": "profile", "field": "age", "op": "between", "value": [40, 30]}]}, "rule.all.0.value"),
        ({"all": {"type": "store"}, "any": []}, "rule"),
        ("everyone", "rule"),
        ({"type": "profile", "field": "age", "op": "gte", "value": 3000}, "rule.value"),
        ({"type": "profile", "field": "birthday", "op": "after", "value": "9999-12-31"}, "rule.value"),
    ],
)
def test_bad_rules_name_the_part(rule, field, shop):
    with pytest.raises(InvalidInput) as raised:
        clean_rule(rule)
    assert field in {e.field for e in raised.value.errors}


def test_catalogue_describes_every_condition(shop):
    from rapport.segments.rules import catalogue, condition_types

    recent = Event.objects.first()
    recent.pk, recent.message_id, recent.name, recent.timestamp = None, "recent", "Order Completed", timezone.now()
    recent.save()
    built = catalogue()
    assert {c["type"] for c in built["conditions"]} == set(condition_types())
    sources = built["sources"]
    for condition in built["conditions"]:
        fields = {f["name"]: f for f in condition["fields"]}
        assert fields, f"{condition['type']} describes no fields"
        for f in fields.values():
            assert not f["source"] or f["source"] in sources, (condition["type"], f["name"])
            assert not f["depends_on"] or f["depends_on"] in fields, (condition["type"], f["name"])
            if f["kind"] in ("operator", "operand") and not f["depends_on"]:
                assert f["operand_kind"] in built["kinds"], (condition["type"], f["name"])
    for entries in sources.values():
        for entry in entries:
            assert {"value", "label"} <= set(entry)
            assert all(op in built["operators"] for op in entry.get("operators", []))
    custom = {entry["value"]: entry for entry in sources["custom_fields"]}
    assert custom["tier"]["kind"] == "choice" and custom["tier"]["choices"] == [["gold", "gold"], ["silver", "silver"]]
    assert "contains_any" in custom["likes"]["operators"]
    assert [s["value"] for s in sources["stores"]] == ["sh-01"]
    assert "seller" in [o["value"] for o in sources["owners"]]
    assert [e["value"] for e in sources["event_names"]] == ["Order Completed"]  # seen in the last 90 days
    assert built["operators"]["between"]["shape"] == "pair"
    assert {m["value"]: m["operators"] for m in sources["order_metrics"]}["count"] == [
        "gt",
        "gte",
        "lt",
        "lte",
        "eq",
        "between",
    ]
