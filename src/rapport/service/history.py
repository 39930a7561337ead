"""The ticket's history: one small function writes every kind of event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.actor import Actor
from rapport.service import clock
from rapport.service.models import Ticket, TicketEvent


def record_event(
    ticket: Ticket,
    action: str,
    *,
    actor: Actor | None = None,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    actor = actor or Actor.system("sla")
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        actor=actor.staff_user,
        actor_label=actor.describe(),
        data=data or {},
        at=at or clock.now(),
    )
