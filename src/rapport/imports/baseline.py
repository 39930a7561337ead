"""After a history import: derived data of the touched customers, recomputed once, as a baseline.

A history import says "this is how things already were". What derives from orders and profiles
(statistics, loyalty level and growth, analytics metrics, automatic tags) is brought up to date
once, set-based, for the customers the import touched, and recorded as their starting point:
levels are set without a level-change entry (journeys react to level-change entries, see
``campaigns/rewards.py``), so no "level changed" reward or journey fires for an order of 2023,
and segments' stored membership is updated without a snapshot, so the next snapshot records no
"entered" for them (``campaigns/triggers.py``).
Statistics are kept per chunk by the engine; this is the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import transaction
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.imports import staging

BATCH = 2000


def _batches(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield list(ids[start : start + BATCH])


def recompute(customer_ids: Sequence[int]) -> None:
    for ids in _batches(customer_ids):
        with transaction.atomic():
            baseline_levels(ids)
    _metrics(customer_ids)
    _tags(customer_ids)
    for ids in _batches(customer_ids):
        with transaction.atomic():
            baseline_segments(ids)


def baseline_levels(customer_ids: list[int]) -> int:
    """Growth and level from the orders in the growth window, for members of a configured level
    ladder; a level is only ever raised here (a review lowers it on its own schedule). Returns how
    many memberships were written."""
    from rapport.loyalty.models import Level, Membership
    from rapport.loyalty.services.levels import growth_by_customer, level_for

    levels = list(Level.objects.all())
    if not levels:  # no ladder configured: nobody has a level to set
        return 0
    growth = growth_by_customer(customer_ids)
    stored = Membership.objects.filter(customer_id__in=customer_ids).select_related("level")
    current = {membership.customer_id: membership for membership in stored}
    now = timezone.now()
    rows = []
    for customer_id in customer_ids:
        value = growth.get(customer_id)
        if value is None:
            continue
        membership = current.get(customer_id)
        level, since = (membership.level, membership.level_since) if membership else (None, None)
        target = level_for(value, levels)
        if target is not None and target.rank > (level.rank if level is not None else -1):
            level, since = target, now
        rows.append((customer_id, value, level.pk if level is not None else None, since))
    staging.upsert(Membership, "customer_id", ["growth", "level_id", "level_since"], rows)
    staging.drop_stages([Membership])
    return len(rows)


def baseline_segments(customer_ids: list[int]) -> None:
    """Each segment's stored membership brought up to date for these customers, without a snapshot
    or membership-change rows: the next snapshot sees them as members already, so no "entered
    segment" journey fires for what an import revealed (``campaigns/triggers.py`` reads entries)."""
    from rapport.segments.compiler import members
    from rapport.segments.models import Segment, SegmentMember

    base = Customer.objects.filter(pk__in=customer_ids)
    for segment in Segment.objects.filter(is_template=False).only("pk", "rule"):
        inside = set(members(segment.rule, base=base).values_list("pk", flat=True))
        SegmentMember.objects.filter(segment=segment, customer_id__in=set(customer_ids) - inside).delete()
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, customer_id=pk) for pk in sorted(inside)], ignore_conflicts=True
        )


def _metrics(customer_ids: Sequence[int]) -> None:
    from rapport.analytics import metrics

    for ids in _batches(customer_ids):
        metrics.recompute_customers(ids)


def _tags(customer_ids: Sequence[int]) -> None:
    from rapport.tags import services

    for ids in _batches(customer_ids):
        services.reevaluate_for_customers(ids)
