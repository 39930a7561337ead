"""The segment property test's plug-in for the ``analytics`` condition: random metrics rows
(or none) per customer, and random tests of their fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from rapport.analytics.models import CustomerMetrics, LifecycleStage, RfmSegment, ValueTier

SEGMENTS = [s.value for s in RfmSegment][:4]
STAGES = [s.value for s in LifecycleStage]
TIERS = [s.value for s in ValueTier]
SHARES = ["0.1", "0.5", "0.9"]


class AnalyticsPlugin:
    def setup(self, world: Any) -> None:
        pass

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "rfm_segment": st.sampled_from(["", *SEGMENTS]),
                    "lifecycle_stage": st.sampled_from(STAGES),
                    "value_tier": st.sampled_from(["", *TIERS]),
                    "r_score": st.one_of(st.none(), st.integers(1, 5)),
                    "clv_12m": st.one_of(
                        st.none(), st.sampled_from([Decimal("0.00"), Decimal("150.00"), Decimal("900.50")])
                    ),
                    "churn_probability": st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.9])),
                }
            ),
        )

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        CustomerMetrics.objects.bulk_create(
            CustomerMetrics(customer_id=pk, computed_at=moment, **data) for pk, data in pairs if data is not None
        )

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        def condition(field: str, op: str, value: Any) -> dict[str, Any]:
            rule: dict[str, Any] = {"type": "analytics", "field": field, "op": op}
            if value is not None:
                rule["value"] = value
            return rule

        choice = st.one_of(
            st.builds(condition, st.just("rfm_segment"), st.sampled_from(["eq", "neq"]), st.sampled_from(SEGMENTS)),
            st.builds(
                condition,
                st.just("lifecycle_stage"),
                st.just("in"),
                st.lists(st.sampled_from(STAGES), min_size=1, max_size=3),
            ),
            st.builds(condition, st.just("value_tier"), st.sampled_from(["is_set", "is_not_set"]), st.none()),
        )
        number = st.one_of(
            st.builds(condition, st.just("clv_12m"), st.sampled_from(["gt", "lte"]), st.sampled_from(["100", "900.5"])),
            st.builds(
                condition, st.just("churn_probability"), st.sampled_from(["gte", "lt", "neq"]), st.sampled_from(SHARES)
            ),
            st.builds(condition, st.just("r_score"), st.sampled_from(["eq", "gte"]), st.integers(1, 5)),
        )
        return {"analytics": st.one_of(choice, number)}


PLUGIN = AnalyticsPlugin()
