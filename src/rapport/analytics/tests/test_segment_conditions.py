"""The ``analytics`` segment condition: SQL selects exactly what the reference evaluator selects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.analytics import metrics
from rapport.analytics.tests.conftest import NOW
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.segments.compiler import members, reference_members
from rapport.segments.rules import catalogue, clean_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(make_customer: Callable[..., Any], place_order: Callable[..., Any]) -> dict[str, Any]:
    people = {name: make_customer(name=name) for name in ("amy", "bob", "cai", "dan", "eve")}
    for k in range(6):
        place_order(people["amy"], 3 + 9 * k, total=f"{300 + 11 * k}.00")
    for k in range(2):
        place_order(people["bob"], 200 + 13 * k, total=f"{40 + 5 * k}.00")
    place_order(people["cai"], 20, total="90.00")
    place_order(people["dan"], 500, total="60.00")
    metrics.recompute_all(now=NOW)
    make_customer(name="fay")  # no metrics row at all
    return people


RULES = [
    {"type": "analytics", "field": "lifecycle_stage", "op": "eq", "value": "repeat"},
    {"type": "analytics", "field": "lifecycle_stage", "op": "in", "value": ["potential", "churned"]},
    {"type": "analytics", "field": "rfm_segment", "op": "neq", "value": "champions"},
    {"type": "analytics", "field": "rfm_segment", "op": "is_not_set"},
    {"type": "analytics", "field": "value_tier", "op": "in", "value": ["top", "high"]},
    {"type": "analytics", "field": "clv_12m", "op": "gte", "value": "1"},
    {"type": "analytics", "field": "p_alive", "op": "between", "value": ["0.5", "1"]},
    {"type": "analytics", "field": "r_score", "op": "lte", "value": 2},
    {"type": "analytics", "field": "preferred_category", "op": "eq", "value": "tea"},
    {"not": {"type": "analytics", "field": "m_score", "op": "gt", "value": 3}},
]


@pytest.mark.parametrize("rule", RULES)
def test_sql_matches_the_reference_evaluator(scored: dict[str, Any], rule: dict[str, Any]) -> None:
    cleaned = clean_rule(rule)
    ids = list(Customer.objects.values_list("pk", flat=True))
    sql = set(members(cleaned, now=NOW).values_list("pk", flat=True))
    assert sql == reference_members(cleaned, now=NOW, customer_ids=ids)


def test_repeat_buyers_are_found_by_lifecycle(scored: dict[str, Any]) -> None:
    rule = clean_rule({"type": "analytics", "field": "lifecycle_stage", "op": "eq", "value": "repeat"})
    assert set(members(rule, now=NOW).values_list("name", flat=True)) == {"amy"}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"type": "analytics", "field": "mood", "op": "eq", "value": "x"}, "rule.field"),
        ({"type": "analytics", "field": "rfm_segment", "op": "eq", "value": "royals"}, "rule.value"),
        ({"type": "analytics", "field": "churn_probability", "op": "contains", "value": "1"}, "rule.op"),
        ({"type": "analytics", "field": "clv_12m", "op": "gt", "value": "lots"}, "rule.value"),
    ],
)
def test_bad_conditions_name_the_field(rule: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        clean_rule(rule)
    assert error.value.errors[0].field == path


def test_the_rule_builder_offers_the_analytics_fields(db: Any) -> None:
    described = catalogue()
    assert "analytics" in {c["type"] for c in described["conditions"]}
    fields = {entry["value"]: entry for entry in described["sources"]["analytics_fields"]}
    assert fields["rfm_segment"]["kind"] == "choice"
    assert ["champions", "Champions"] in fields["rfm_segment"]["choices"]
    assert "gte" in fields["churn_probability"]["operators"]
