"""Background jobs for campaigns: they take ids, look objects up and call a service; safe to run twice."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.campaigns import services
from rapport.campaigns.delivery import channels
from rapport.campaigns.journeys import engine, triggers
from rapport.campaigns.models import Plan
from rapport.core.jobs import tracked_task

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.campaigns.tick", label=_("Campaign schedule tick"))
def tick() -> dict[str, int]:
    """Every minute: due plans run, journeys move on, due messages go out."""
    return services.run_due()


@tracked_task(name="rapport.campaigns.scan_triggers", label=_("Journey trigger scan"))
def scan_triggers() -> dict[str, int]:
    """Abandoned carts, segment entries, birthdays and inactivity admit new customers to journeys."""
    entered = triggers.scan_all()
    for plan_id, count in entered.items():
        if count:
            run_plan.run(int(plan_id))
    return entered


@tracked_task(name="rapport.campaigns.run_plan", label=_("Campaign plan send"), resumable=True)
def run_plan(plan_id: int) -> dict[str, int]:
    plan = Plan.objects.filter(pk=plan_id).select_related("segment").first()
    if plan is None:
        return {}
    return services.run_plan(plan)


@tracked_task(name="rapport.campaigns.enter_journey", label=_("Journey entry"), resumable=True)
def enter_journey(plan_id: int, entries: list[list[Any]]) -> dict[str, int]:
    """Customers a signal found (an event, an order) enter the journey, then it moves on."""
    plan = Plan.objects.filter(pk=plan_id, status=Plan.Status.RUNNING).select_related("segment").first()
    if plan is None:
        return {"entered": 0}
    rows = [engine.Entry(int(customer_id), str(key), dict(context)) for customer_id, key, context in entries]
    entered = engine.enroll_entries(plan, rows, now=timezone.now())
    if entered:
        run_plan.run(plan_id)
    return {"entered": entered}


@tracked_task(name="rapport.campaigns.deliver", label=_("Message delivery"))
def deliver() -> dict[str, int]:
    return channels.deliver_due()
