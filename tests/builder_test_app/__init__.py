"""A test-only app that registers a segment condition of its own, the way any domain app does,
to show that the builder offers it with no change to the builder."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db.models import Q

from rapport.segments import operators as ops
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    unregister_condition,
)

MONTHS = tuple((str(n), f"Month {n}") for n in range(1, 13))


class BirthMonthCondition(ConditionType):
    """Born in a month (and, optionally, registered with a store): the test app's own condition."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        month = condition.get("month")
        if month not in dict(MONTHS):
            raise ops.fail(f"{path}.month", "a month from 1 to 12")
        store = condition.get("store") or ""
        return {"month": month, "store": store}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        born = Q(birthday__month=int(condition["month"]))
        return born & Q(store__code=condition["store"]) if condition["store"] else born

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        customer = facts["customer"]
        birthday = customer["birthday"]
        in_store = not condition["store"] or customer["store_code"] == condition["store"]
        return birthday is not None and birthday.month == int(condition["month"]) and in_store

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        birthday = facts["customer"]["birthday"]
        return birthday.month if birthday else None


BIRTH_MONTH = BirthMonthCondition(
    "test_birth_month",
    "Birth month (test app)",
    facts=("customer",),
    fields=(
        Field("month", "Month", "choice", choices=MONTHS),
        Field("store", "Store", "choice", required=False, entity="store"),
    ),
)


@contextmanager
def registered() -> Iterator[BirthMonthCondition]:
    register_condition(BIRTH_MONTH)
    try:
        yield BIRTH_MONTH
    finally:
        unregister_condition(BIRTH_MONTH.name)
