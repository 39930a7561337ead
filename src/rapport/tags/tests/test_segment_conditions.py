"""The tag condition: the compiled query selects exactly what the reference evaluator selects."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.segments.compiler import members, reference_members
from rapport.segments.rules import clean_rule
from rapport.tags import services

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def tagged(make_customer, make_tag, system_actor):
    tea, golf, wine = make_tag("Tea"), make_tag("Golf"), make_tag("Wine")
    holdings = {"amy": [tea, golf], "bob": [golf], "cai": [tea, golf, wine], "dan": []}
    people = {}
    for name, tags in holdings.items():
        people[name] = make_customer(name=name)
        if tags:
            services.add_tags(people[name], tags, actor=system_actor)
    return people, {"tea": tea, "golf": golf, "wine": wine}


def names(rule):
    return set(members(rule, now=NOW).values_list("name", flat=True))


def test_each_operator_selects_the_right_customers(tagged):
    _people, tags = tagged
    tea, golf = tags["tea"].pk, tags["golf"].pk
    assert names({"type": "tag", "op": "has_any", "tags": [tea]}) == {"amy", "cai"}
    assert names({"type": "tag", "op": "has_all", "tags": [tea, golf]}) == {"amy", "cai"}
    assert names({"type": "tag", "op": "has_all", "tags": ["Interests/Wine", golf]}) == {"cai"}
    assert names({"type": "tag", "op": "has_none", "tags": [tea, "Interests/Wine"]}) == {"bob", "dan"}
    assert names({"not": {"type": "tag", "op": "has_any", "tags": [golf]}}) == {"dan"}


def test_compiled_equals_reference_for_every_combination(tagged):
    _people, tags = tagged
    ids = list(Customer.objects.values_list("pk", flat=True))
    pks = [t.pk for t in tags.values()]
    for op in ("has_any", "has_all", "has_none"):
        for size in (1, 2, 3):
            for subset in itertools.combinations(pks, size):
                for rule in (
                    {"type": "tag", "op": op, "tags": list(subset)},
                    {
                        "any": [
                            {"type": "tag", "op": op, "tags": list(subset)},
                            {"not": {"type": "tag", "op": op, "tags": [pks[0]]}},
                        ]
                    },
                ):
                    compiled = set(members(rule, now=NOW).values_list("pk", flat=True))
                    assert compiled == reference_members(rule, now=NOW, customer_ids=ids), rule


def test_a_tag_rule_is_one_query(tagged):
    _people, tags = tagged
    rule = {
        "all": [
            {"type": "tag", "op": "has_all", "tags": [t.pk for t in tags.values()]},
            {"type": "tag", "op": "has_none", "tags": [tags["tea"].pk]},
        ]
    }
    with CaptureQueriesContext(connection) as captured:
        list(members(clean_rule(rule), now=NOW))
    # cleaning resolves the tags (one query per reference); selecting is one query
    selects = [q for q in captured.captured_queries if "customers_customer" in q["sql"]]
    assert len(selects) == 1


def test_bad_tag_conditions_name_the_path(tagged):
    with pytest.raises(InvalidInput) as bad:
        clean_rule(
            {
                "all": [
                    {"type": "tag", "op": "has_some", "tags": ["Interests/Tea"]},
                    {"type": "tag", "op": "has_any", "tags": ["Nope/Nope", 99999]},
                ]
            }
        )
    assert {e.field for e in bad.value.errors} == {"rule.all.0.op", "rule.all.1.tags.0", "rule.all.1.tags.1"}
    with pytest.raises(InvalidInput) as empty:
        clean_rule({"type": "tag", "op": "has_any", "tags": []})
    assert [e.field for e in empty.value.errors] == ["rule.tags"]


def test_cleaned_rule_names_tags_by_id(tagged):
    _people, tags = tagged
    cleaned = clean_rule({"type": "tag", "op": "has_any", "tags": ["Interests/Golf", str(tags["tea"].pk)]})
    assert cleaned == {"type": "tag", "op": "has_any", "tags": sorted([tags["golf"].pk, tags["tea"].pk])}
