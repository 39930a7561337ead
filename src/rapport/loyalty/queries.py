"""Reading loyalty balances, for this app and every other.

Other apps ask here (rather than re-deriving from lots and entries) which points are about to
expire: the points of a lot count from after ``now`` up to ``now + within``. The scans behind the
journeys' loyalty triggers (points or a coupon about to expire, a level change) are read here too;
campaigns only turns what they find into journey entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Coupon, CouponStatus, Level, LevelChange, Lot, Membership


def points_expiring(*, within: dt.timedelta, now: dt.datetime) -> QuerySet[Lot]:
    """Lots of points, with some left, that expire within ``within`` of ``now``."""
    return Lot.objects.points_expiring(within=within, now=now)


def points_expiring_on(day: dt.date) -> QuerySet[Lot]:
    """Lots of points, with some left, that expire on ``day`` (in the database's time zone, UTC)."""
    return Lot.objects.points_left().filter(expires_at__date=day)


def customers_with_points_expiring_on(day: dt.date) -> QuerySet[Customer]:
    """Members with points left in a lot that expires on ``day``."""
    accounts = points_expiring_on(day).values("account_id")
    return Customer.objects.filter(pk__in=Account.objects.filter(pk__in=accounts).values("customer_id"))


def coupons_expiring_on(day: dt.date) -> list[tuple[int, int]]:
    """(coupon id, customer id) of the issued, unused coupons held by a customer that expire on ``day``."""
    expiring = Coupon.objects.filter(status=CouponStatus.ISSUED, valid_until__date=day, customer__isnull=False)
    return [(pk, customer_id) for pk, customer_id in expiring.values_list("pk", "customer_id")]


def level_changes_after(cursor: int, *, since: dt.datetime, limit: int = 10_000) -> list[tuple[int, int, str]]:
    """(change id, customer id, reason) of level changes after the change ``cursor``, made since ``since``,
    oldest first: a scan resumes from the last id it saw."""
    changes = LevelChange.objects.filter(pk__gt=cursor, changed_at__gte=since).order_by("pk")
    return [
        (pk, customer_id, reason)
        for pk, customer_id, reason in changes.values_list("pk", "customer_id", "reason")[:limit]
    ]


def levels_lowered_since(since: dt.datetime) -> list[tuple[int, int, str, dt.datetime]]:
    """(change id, customer id, the new level's name or "", when) of level downgrades since ``since``:
    what the owners' alerts scan."""
    changes = LevelChange.objects.filter(reason=LevelChange.Reason.DOWNGRADE, changed_at__gte=since)
    rows = changes.values_list("pk", "customer_id", "to_level__name", "changed_at")
    return [(pk, customer_id, name or "", at) for pk, customer_id, name, at in rows]


def members_losing_their_level_on(day: dt.date, *, now: dt.datetime) -> dict[int, str]:
    """{customer id: level name} of members whose level a review would first lower on ``day`` if they
    earned nothing more (the growth window moves on), by the rules of the scheduled review: kept on
    the day before, lowered on ``day``. Levels guaranteed until a later date are left out."""
    from rapport.loyalty.services.levels import growth_by_customer, level_for

    levels = list(Level.objects.order_by("rank"))
    members = {
        m.customer_id: (m, m.level)
        for m in Membership.objects.filter(level__isnull=False)
        .exclude(level_valid_until__gt=now)
        .select_related("level")
        if m.level is not None
    }
    if not members or not levels:
        return {}
    ids = list(members)
    end = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    before, on_day = (growth_by_customer(ids, now=end - dt.timedelta(days=1)), growth_by_customer(ids, now=end))

    def lowered(customer_id: int, growth: dict[int, Any]) -> bool:
        level = members[customer_id][1]
        target = level_for(growth.get(customer_id, 0), levels, keeping=level)
        return (target.rank if target else -1) < level.rank

    return {pk: level.name for pk, (_m, level) in members.items() if lowered(pk, on_day) and not lowered(pk, before)}
