"""The ``analytics`` condition of the segment rule language: a customer's computed metrics::

    {"type": "analytics", "field": "rfm_segment", "op": "in", "value": ["champions", "loyal"]}
    {"type": "analytics", "field": "churn_probability", "op": "gte", "value": "0.7"}

Fields are those of :class:`~rapport.analytics.models.CustomerMetrics` (RFM segment and scores,
lifecycle stage, value tier, price sensitivity, preferred category, 12-month CLV, probability
alive, expected purchases, expected next order, churn probability). In SQL each test reads the
customer's metrics row through a left join, so a customer without metrics has every field
missing (see :mod:`rapport.segments.operators` for what missing matches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from rapport.analytics.models import CustomerMetrics, LifecycleStage, PriceSensitivity, RfmSegment, ValueTier
from rapport.commerce.models import Category
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


def _choices(enum: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(value), label) for value, label in enum.choices)


# field → (kind, choices, column path from the customer, label)
FIELDS: dict[str, tuple[str, tuple[tuple[str, Any], ...], str, Any]] = {
    "rfm_segment": ("choice", _choices(RfmSegment), "metrics__rfm_segment", _("RFM segment")),
    "lifecycle_stage": ("choice", _choices(LifecycleStage), "metrics__lifecycle_stage", _("Lifecycle stage")),
    "value_tier": ("choice", _choices(ValueTier), "metrics__value_tier", _("Value tier")),
    "price_sensitivity": ("choice", _choices(PriceSensitivity), "metrics__price_sensitivity", _("Price sensitivity")),
    "preferred_category": ("choice", (), "metrics__preferred_category__code", _("Preferred category")),
    "r_score": ("integer", (), "metrics__r_score", _("R score (1–5)")),
    "f_score": ("integer", (), "metrics__f_score", _("F score (1–5)")),
    "m_score": ("integer", (), "metrics__m_score", _("M score (1–5)")),
    "clv_12m": ("number", (), "metrics__clv_12m", _("12-month CLV")),
    "p_alive": ("number", (), "metrics__p_alive", _("Probability alive")),
    "expected_purchases_90d": ("number", (), "metrics__expected_purchases_90d", _("Expected purchases in 90 days")),
    "churn_probability": ("number", (), "metrics__churn_probability", _("Churn probability")),
    "expected_next_order_on": ("date", (), "metrics__expected_next_order_on", _("Expected next order")),
}


class AnalyticsCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        field = condition.get("field")
        if field not in FIELDS:
            raise ops.fail(f"{path}.field", f"one of: {', '.join(FIELDS)}")
        kind, choices, _path, _label = FIELDS[field]
        op, value = ops.clean_operand(kind, condition.get("op"), condition.get("value"), path, [c for c, _ in choices])
        return {"field": field, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        kind, _choices, column, _label = FIELDS[condition["field"]]
        return ops.operand_q(F(column), kind, condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        kind = FIELDS[condition["field"]][0]
        actual = self.actual(condition, facts, context)
        return ops.operand_matches(actual, kind, condition["op"], condition["value"], context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        return (facts["metrics"] or {}).get(condition["field"])


def _metrics_facts(ids: list[int]) -> dict[int, Any]:
    columns = [column.removeprefix("metrics__") for _kind, _c, column, _l in FIELDS.values()]
    rows = CustomerMetrics.objects.filter(customer_id__in=ids).values("customer_id", *columns)
    found = {
        row["customer_id"]: {field: row[column] for field, column in zip(FIELDS, columns, strict=True)} for row in rows
    }
    return {pk: found.get(pk) for pk in ids}


def analytics_field_source() -> list[dict[str, Any]]:
    entries = []
    for name, (kind, choices, _column, label) in FIELDS.items():
        if name == "preferred_category":
            choices = tuple((c.code, c.name) for c in Category.objects.all())
        entries.append(
            {"value": name, "label": str(label), "kind": kind, "choices": [[c, str(cl)] for c, cl in choices]}
        )
    return entries


def register() -> None:
    register_facts("metrics", _metrics_facts)
    register_source("analytics_fields", analytics_field_source)
    register_condition(
        AnalyticsCondition(
            "analytics",
            _("Customer analytics (RFM, lifecycle, CLV, churn)"),
            facts=("metrics",),
            fields=(
                Field("field", _("Field"), "choice", source="analytics_fields"),
                Field("op", _("Test"), "operator", source="analytics_fields", depends_on="field"),
                Field("value", _("Value"), "operand", required=False, source="analytics_fields", depends_on="field"),
            ),
        )
    )
