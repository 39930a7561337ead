"""The home dashboard's loyalty panel: points that expire within 30 days, how many members hold
them, and the soonest day, so an operator can remind members before the points lapse."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Min, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.console.home import HomePanel, register_home_panel
from rapport.loyalty.queries import points_expiring

WITHIN = dt.timedelta(days=30)


def expiring_panel(request: HttpRequest) -> dict[str, Any] | None:
    totals = points_expiring(within=WITHIN, now=timezone.now()).aggregate(
        points=Sum("remaining"), members=Count("account__customer", distinct=True), soonest=Min("expires_at")
    )
    if not totals["points"]:
        return None
    return {**totals, "days": WITHIN.days}


def register() -> None:
    register_home_panel(
        HomePanel(
            "expiring_points",
            _("Points about to expire"),
            "loyalty/home_expiring.html",
            expiring_panel,
            position=40,
            permission="loyalty.view_account",
        )
    )
