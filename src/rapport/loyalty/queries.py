"""Reading loyalty balances, for this app and every other.

Other apps ask here (rather than re-deriving from lots and entries) which points are about to
expire: the points of a lot count from after ``now`` up to ``now + within``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from rapport.loyalty.models import Lot


def points_expiring(*, within: dt.timedelta, now: dt.datetime) -> QuerySet[Lot]:
    """Lots of points, with some left, that expire within ``within`` of ``now``."""
    return Lot.objects.points_expiring(within=within, now=now)


def points_expiring_on(day: dt.date) -> QuerySet[Lot]:
    """Lots of points, with some left, that expire on ``day`` (in the database's time zone, UTC)."""
    return Lot.objects.points_left().filter(expires_at__date=day)
