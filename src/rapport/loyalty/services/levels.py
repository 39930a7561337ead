"""Member levels (等级): growth value, upgrades as soon as a level is reached, downgrades at review.

Growth is net spend (order totals less refunds), points earned, or both, over the programme's
window. After every order or refund the customer's growth is recomputed and, if it reaches a
higher level, the customer moves up at once. The scheduled review recomputes everyone's growth
and moves members down to the highest level whose *keep* threshold their growth still meets.
Every change is a :class:`~rapport.loyalty.models.LevelChange`.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.models import Order
from rapport.commerce.queries import net_revenue
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import (
    ZERO,
    Asset,
    BenefitCard,
    Entry,
    EntryKind,
    GrowthSource,
    Level,
    LevelChange,
    Membership,
)
from rapport.loyalty.services.ledger import CENT
from rapport.loyalty.services.program import program_settings

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)


def _window_start(now: datetime) -> datetime:
    return now - timedelta(days=program_settings().growth_window_days)


def growth_by_customer(customer_ids: list[int] | None, *, now: datetime | None = None) -> dict[int, Decimal]:
    """Growth value per customer (all members when ``customer_ids`` is None), from SQL aggregates."""
    now = now or timezone.now()
    since = _window_start(now)
    source = program_settings().growth_source
    customers = Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    zero = Value(ZERO, output_field=MONEY)
    spend = (
        Order.objects.counted()
        .filter(customer=OuterRef("pk"), placed_at__gte=since)
        .order_by()
        .values("customer")
        .annotate(total=Sum(net_revenue(), output_field=MONEY))
        .values("total")
    )
    earned = (
        Entry.objects.filter(
            account__customer=OuterRef("pk"), account__asset=Asset.POINTS, kind=EntryKind.EARN, occurred_at__gte=since
        )
        .order_by()
        .values("account__customer")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    annotations = {}
    if source in (GrowthSource.SPEND, GrowthSource.BOTH):
        annotations["spend"] = Coalesce(Subquery(spend, output_field=MONEY), zero)
    if source in (GrowthSource.POINTS, GrowthSource.BOTH):
        annotations["earned"] = Coalesce(Subquery(earned, output_field=MONEY), zero)
    rows = customers.annotate(**annotations).values_list("pk", *annotations.keys())
    # SQLite sums decimals as floats: quantise back to cents
    return {row[0]: max(sum((Decimal(v).quantize(CENT) for v in row[1:]), ZERO), ZERO) for row in rows}


def level_for(growth: Decimal, levels: list[Level], *, keeping: Level | None = None) -> Level | None:
    """The highest level ``growth`` reaches; while reviewing, the current level's keep threshold counts."""
    best = None
    for level in levels:  # ordered by rank
        needed = level.keep_threshold if keeping is not None and level.rank <= keeping.rank else level.threshold
        if growth >= needed:
            best = level
    return best


def _change(membership: Membership, to_level: Level | None, reason: str, actor: Actor, note: str = "") -> None:
    now = timezone.now()
    LevelChange.objects.create(
        customer_id=membership.customer_id,
        from_level=membership.level,
        to_level=to_level,
        reason=reason,
        note=note[:300],
        growth=membership.growth,
        changed_at=now,
        actor=actor.describe()[:150],
    )
    membership.level = to_level
    membership.level_since = now


@transaction.atomic
def refresh(customer_id: int, *, actor: Actor) -> Membership:
    """Recompute one customer's growth and upgrade at once when a higher level is reached."""
    Membership.objects.get_or_create(customer_id=customer_id)
    membership = Membership.objects.select_for_update(of=("self",)).select_related("level").get(customer_id=customer_id)
    membership.growth = growth_by_customer([customer_id]).get(customer_id, ZERO)
    target = level_for(membership.growth, list(Level.objects.all()))
    current_rank = membership.level.rank if membership.level else -1
    if target is not None and target.rank > current_rank:
        _change(membership, target, LevelChange.Reason.UPGRADE, actor)
    membership.save()
    return membership


def review_all(*, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """The scheduled review: growth for everyone, upgrades, and downgrades below the keep threshold."""
    now = now or timezone.now()
    levels = list(Level.objects.all())
    growth = growth_by_customer(None, now=now)
    memberships = {m.customer_id: m for m in Membership.objects.select_related("level")}
    counts = {"upgraded": 0, "downgraded": 0, "kept": 0}
    changed: list[Membership] = []
    created: list[Membership] = []
    with transaction.atomic():
        for customer_id, value in growth.items():
            membership = memberships.get(customer_id)
            if membership is None:
                if value <= 0:
                    continue
                membership = Membership(customer_id=customer_id, growth=ZERO)
                created.append(membership)
            target = level_for(value, levels, keeping=membership.level)
            current_rank = membership.level.rank if membership.level else -1
            target_rank = target.rank if target else -1
            membership.growth = value
            membership.reviewed_at = now
            if target_rank > current_rank:
                _change(membership, target, LevelChange.Reason.UPGRADE, actor)
                counts["upgraded"] += 1
            elif target_rank < current_rank and _level_guaranteed(membership, now):
                counts["kept"] += 1
            elif target_rank < current_rank:
                _change(
                    membership, target, LevelChange.Reason.DOWNGRADE, actor, note=_("Growth below the keep threshold")
                )
                counts["downgraded"] += 1
            else:
                counts["kept"] += 1
            if membership not in created:
                changed.append(membership)
        Membership.objects.bulk_create(created, batch_size=1000)
        Membership.objects.bulk_update(changed, ["growth", "reviewed_at", "level", "level_since"], batch_size=1000)
    return counts


def _level_guaranteed(membership: Membership, now: datetime) -> bool:
    """A level imported with its valid-until (opening balances) is not lowered before that date."""
    return membership.level_valid_until is not None and now < membership.level_valid_until


@transaction.atomic
def set_level(customer: Customer, *, level: Level | None, reason: str, actor: Actor) -> Membership:
    """Staff put a customer on a level by hand; needs a reason and is audited."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why the level is set by hand."))
    Membership.objects.get_or_create(customer=customer)
    membership = Membership.objects.select_for_update(of=("self",)).select_related("level").get(customer=customer)
    previous = membership.level
    _change(membership, level, LevelChange.Reason.MANUAL, actor, note=reason)
    membership.save()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=customer,
        changes={"level": [str(previous or ""), str(level or "")], "reason": reason},
    )
    return membership


def earning_multiplier(customer_id: int, *, at: datetime | None = None) -> Decimal:
    """The best points multiplier among the customer's level and benefit cards valid at ``at``."""
    at = at or timezone.now()
    candidates = [Decimal("1")]
    level_multiplier = (
        Membership.objects.filter(customer_id=customer_id, level__isnull=False)
        .values_list("level__points_multiplier", flat=True)
        .first()
    )
    if level_multiplier is not None:
        candidates.append(level_multiplier)
    candidates.extend(
        BenefitCard.objects.filter(
            customer_id=customer_id, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True
        ).values_list("card_type__points_multiplier", flat=True)
    )
    return max(candidates)


def progress(customer_id: int) -> dict[str, object]:
    """Level, growth and what is still needed for the next level (360 tab, portal, API)."""
    membership = Membership.objects.select_related("level").filter(customer_id=customer_id).first()
    growth = membership.growth if membership else ZERO
    current = membership.level if membership else None
    higher = Level.objects.filter(Q(rank__gt=current.rank) if current else Q()).order_by("rank").first()
    needed = max(higher.threshold - growth, ZERO) if higher else ZERO
    percent = 100
    if higher is not None and higher.threshold > 0:
        percent = int(min(growth / higher.threshold, Decimal("1")) * 100)
    return {"level": current, "growth": growth, "next_level": higher, "needed": needed, "percent": percent}


def move_membership(survivor: Customer, merged: Customer) -> int:
    """Merge: history moves; the survivor keeps the higher of the two levels, growth is recomputed."""
    moved = LevelChange.objects.filter(customer=merged).update(customer=survivor)
    theirs = Membership.objects.select_related("level").filter(customer=merged).first()
    if theirs is None:
        return moved
    Membership.objects.get_or_create(customer=survivor)
    ours = Membership.objects.select_for_update(of=("self",)).select_related("level").get(customer=survivor)
    their_rank = theirs.level.rank if theirs.level else -1
    our_rank = ours.level.rank if ours.level else -1
    if their_rank > our_rank:
        _change(ours, theirs.level, LevelChange.Reason.MERGE, Actor.system("merge"))
        ours.save()
    theirs.delete()
    return moved + 1


def award_birthday_gifts(*, today: date, actor: Actor) -> int:
    """Give each member on a level with a birthday gift their points on their birthday, once a year.

    Members born on 29 February get theirs on 28 February in other years.
    """
    from rapport.loyalty.services.points import award

    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    born_today = Q()
    for month, day in days:
        born_today |= Q(customer__birthday__month=month, customer__birthday__day=day)
    given = 0
    for membership in Membership.objects.filter(born_today, level__birthday_points__gt=0).select_related(
        "customer", "level"
    ):
        assert membership.level is not None
        award(
            membership.customer,
            points=membership.level.birthday_points,
            key=f"points:birthday:{membership.customer_id}:{today.year}",
            actor=actor,
            reason=_("Birthday gift (%(level)s)") % {"level": membership.level.name},
        )
        given += 1
    return given
