"""A segment rule becomes one query over customers, run in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.segments.rules import Context, clean_rule, compile_rule, evaluate_rule, facts_needed, load_facts


def members(
    rule: Mapping[str, Any], *, now: dt.datetime | None = None, base: QuerySet[Customer] | None = None
) -> QuerySet[Customer]:
    """The customers a rule selects (optionally within ``base``, e.g. a staff member's scope)."""
    context = Context(now=now or timezone.now())
    queryset = base if base is not None else Customer.objects.all()
    return queryset.filter(compile_rule(clean_rule(rule), context))


def reference_members(rule: Mapping[str, Any], *, now: dt.datetime, customer_ids: list[int]) -> set[int]:
    """The same selection by the plain-Python evaluator: slow, for tests only."""
    cleaned = clean_rule(rule)
    context = Context(now=now)
    facts = load_facts(customer_ids, facts_needed(cleaned))
    return {pk for pk in customer_ids if evaluate_rule(cleaned, facts[pk], context)}
