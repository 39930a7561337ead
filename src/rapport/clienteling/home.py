"""The home dashboard's "my tasks" panel (the viewer's open tasks, overdue first, from the published
read module :mod:`rapport.clienteling.queries`) and "alerts on my customers" panel (the in-app side of
:mod:`rapport.clienteling.alerts`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.clienteling import alerts
from rapport.clienteling.queries import my_open_tasks, my_task_counts
from rapport.console.home import HomePanel, register_home_panel

SHOWN = 6


def my_tasks_panel(request: HttpRequest) -> dict[str, Any] | None:
    now = timezone.now()
    counts = my_task_counts(request.user, now=now)
    if not counts["open"]:
        return None
    return {**counts, "now": now, "tasks": list(my_open_tasks(request.user)[:SHOWN])}


def my_alerts_panel(request: HttpRequest) -> dict[str, Any] | None:
    found = list(alerts.recent_alerts(request.user, timezone.localdate())[: SHOWN + 1])
    if not found:
        return None
    return {"alerts": found[:SHOWN], "more": len(found) > SHOWN}


def register() -> None:
    register_home_panel(
        HomePanel(
            "my_alerts",
            _("Alerts on my customers"),
            "clienteling/home_alerts.html",
            my_alerts_panel,
            position=12,
            permission="clienteling.view_task",
        )
    )
    register_home_panel(
        HomePanel(
            "my_tasks",
            _("My tasks"),
            "clienteling/home_tasks.html",
            my_tasks_panel,
            position=15,
            permission="clienteling.view_task",
        )
    )
