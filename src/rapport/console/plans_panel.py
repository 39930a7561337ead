"""The home dashboard's panel of running and scheduled operation plans.

It reads the campaigns' plan table from here because the campaigns app is being split this
round; once it publishes a queries module (or registers its own panel) this moves there.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.models import Plan
from rapport.console.home import HomePanel, register_home_panel

SHOWN = 8


def plans_panel(request: HttpRequest) -> dict[str, Any]:
    running = Plan.objects.filter(status=Plan.Status.RUNNING).order_by("-launched_at", "-pk")
    scheduled = Plan.objects.filter(status=Plan.Status.SCHEDULED).order_by("starts_at", "pk")
    return {
        "running": list(running[:SHOWN]),
        "running_count": running.count(),
        "scheduled": list(scheduled[:SHOWN]),
        "scheduled_count": scheduled.count(),
    }


def register() -> None:
    register_home_panel(
        HomePanel(
            "plans",
            _("Operation plans"),
            "console/home_plans.html",
            plans_panel,
            position=20,
            permission="campaigns.view_plan",
        )
    )
