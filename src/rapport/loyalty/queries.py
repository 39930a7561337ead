"""Reading loyalty balances, for this app and every other.

Other apps ask here (rather than re-deriving from lots and entries) which points are about to
expire: the points of a lot count from after ``now`` up to ``now + within``. The scans behind the
journeys' loyalty triggers (points or a coupon about to expire, a level change) are read here too;
campaigns only turns what they find into journey entries.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Coupon, CouponStatus, LevelChange, Lot


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
