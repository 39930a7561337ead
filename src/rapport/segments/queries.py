"""What other apps may read about segments without running one over every customer: whether one
customer is in some segments right now (a promotion for a segment, checked at checkout)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.segments import compiler
from rapport.segments.models import Segment


def segments_holding(customer_id: int, segment_ids: Iterable[int], *, now: dt.datetime | None = None) -> set[int]:
    """Which of ``segment_ids`` the customer is in at ``now``, each segment's rule evaluated live (not
    its last snapshot): the rules in one query, then the customer against all of them in one more,
    an EXISTS per segment on the customer's row, whatever the number of segments."""
    wanted = sorted(set(segment_ids))
    if not wanted:
        return set()
    rules = dict(Segment.objects.filter(pk__in=wanted).values_list("pk", "rule"))
    if not rules:
        return set()
    at = now or timezone.now()
    checks = {
        f"in_{pk}": Exists(compiler.members(rule, now=at).filter(pk=OuterRef("pk"))) for pk, rule in rules.items()
    }
    row = Customer.objects.filter(pk=customer_id).annotate(**checks).values_list(*checks).first()
    if row is None:
        return set()
    return {pk for pk, held in zip(rules, row, strict=True) if held}
