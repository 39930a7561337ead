"""Scheduled service jobs: the SLA check (warnings and escalation) and closing resolved tickets."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from rapport.core.actor import Actor
from rapport.core.errors import DomainError
from rapport.core.jobs import tracked_task
from rapport.service import clock, services, sla
from rapport.service.models import Status, Ticket

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.service.check_sla", label=_("Ticket SLA check"))
def check_sla() -> dict[str, int]:
    result = sla.check_all()
    summary = {"warned": result.warned, "breached": result.breached, "escalated": result.escalated}
    if any(summary.values()):
        logger.info("SLA check: %s", summary)
    return summary


@tracked_task(name="rapport.service.close_resolved", label=_("Closing resolved tickets"))
def close_resolved() -> dict[str, int]:
    """Resolved tickets the customer did not answer for a while are closed."""
    cutoff = clock.now() - dt.timedelta(days=settings.RAPPORT_SERVICE_CLOSE_RESOLVED_DAYS)
    actor = Actor.system("auto-close")
    closed = 0
    for ticket in Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff).order_by("pk"):
        try:
            services.change_status(ticket, status=Status.CLOSED, actor=actor)
            closed += 1
        except DomainError:  # reopened by the customer in the meantime
            continue
    return {"closed": closed}
