"""SLA arithmetic in business hours: deadlines, paused time, and the scheduled check that warns
before a breach and escalates on one.

A store's opening hours are its own :class:`BusinessHours` rows, else the default rows (no
store), else around the clock. Times are computed in the store's time zone and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from rapport.campaigns.delivery import notify_staff
from rapport.core.public_url import public_url
from rapport.customers.models import Store
from rapport.service import clock, history
from rapport.service.models import BusinessHours, SlaPolicy, Status, Ticket

logger = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
MAX_DAYS = 366 * 2  # a target can never need more than two years of opening hours

# Targets when no policy row exists for a priority: (first response, resolution) in minutes.
DEFAULT_TARGETS = {"urgent": (30, 240), "high": (60, 480), "normal": (240, 1440), "low": (480, 2880)}
DEFAULT_WARN_MINUTES = 30


@dataclass(frozen=True)
class Hours:
    """Opening hours by weekday in one time zone; ``None`` for a weekday means closed."""

    tz: dt.tzinfo
    by_weekday: dict[int, tuple[dt.time, dt.time]] | None  # None: open around the clock

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        assert self.by_weekday is not None
        hours = self.by_weekday.get(day.weekday())
        if hours is None:
            return None
        return dt.datetime.combine(day, hours[0], self.tz), dt.datetime.combine(day, hours[1], self.tz)


def hours_for(store: Store | None) -> Hours:
    tz: dt.tzinfo = store.tzinfo if store is not None else zoneinfo.ZoneInfo(settings.RAPPORT_SERVICE_TIME_ZONE)
    rows = list(BusinessHours.objects.filter(store=store)) if store is not None else []
    if not rows:
        rows = list(BusinessHours.objects.filter(store__isnull=True))
    if not rows:
        return Hours(tz, None)
    return Hours(tz, {row.weekday: (row.opens, row.closes) for row in rows})


def add_business_minutes(start: dt.datetime, minutes: int, hours: Hours) -> dt.datetime:
    """The moment ``minutes`` of opening time after ``start``."""
    if hours.by_weekday is None:
        return start + dt.timedelta(minutes=minutes)
    remaining = dt.timedelta(minutes=minutes)
    cursor = start.astimezone(hours.tz)
    for _ in range(MAX_DAYS):
        window = hours.window(cursor.date())
        if window is not None:
            opens, closes = window
            cursor = max(cursor, opens)
            if cursor < closes:
                available = closes - cursor
                if available >= remaining:
                    return (cursor + remaining).astimezone(dt.UTC)
                remaining -= available
        cursor = dt.datetime.combine(cursor.date() + DAY, dt.time(0), hours.tz)
    raise ValueError("business hours leave no time to meet this target")


def business_minutes_between(start: dt.datetime, end: dt.datetime, hours: Hours) -> int:
    """Whole minutes of opening time in [start, end)."""
    if end <= start:
        return 0
    if hours.by_weekday is None:
        return int((end - start).total_seconds() // 60)
    total = dt.timedelta()
    cursor = start.astimezone(hours.tz)
    end_local = end.astimezone(hours.tz)
    while cursor < end_local:
        window = hours.window(cursor.date())
        if window is not None:
            lo, hi = max(cursor, window[0]), min(end_local, window[1])
            if hi > lo:
                total += hi - lo
        cursor = dt.datetime.combine(cursor.date() + DAY, dt.time(0), hours.tz)
    return int(total.total_seconds() // 60)


def targets(priority: str) -> tuple[int, int, int]:
    """(first response, resolution, warn before) in business minutes for a priority."""
    policy = SlaPolicy.objects.filter(priority=priority).first()
    if policy is not None:
        return policy.first_response_minutes, policy.resolution_minutes, policy.warn_before_minutes
    first, resolution = DEFAULT_TARGETS[priority]
    return first, resolution, DEFAULT_WARN_MINUTES


def set_deadlines(ticket: Ticket) -> None:
    """(Re)compute both deadlines from creation, the priority's targets and the time paused."""
    first, resolution, _warn = targets(ticket.priority)
    hours = hours_for(ticket.store)
    ticket.first_response_due = add_business_minutes(ticket.created_at, first, hours)
    ticket.resolution_due = add_business_minutes(ticket.created_at, resolution + ticket.paused_minutes, hours)


def pause(ticket: Ticket, at: dt.datetime) -> None:
    if ticket.paused_since is None:
        ticket.paused_since = at


def resume(ticket: Ticket, at: dt.datetime) -> None:
    """Add the business time spent waiting on the customer and move the resolution deadline."""
    if ticket.paused_since is None:
        return
    ticket.paused_minutes += business_minutes_between(ticket.paused_since, at, hours_for(ticket.store))
    ticket.paused_since = None
    set_deadlines(ticket)


# The scheduled check ---------------------------------------------------------------------------


@dataclass
class SlaCheck:
    warned: int = 0
    breached: int = 0
    escalated: int = 0


def _running() -> Q:
    """Tickets whose clocks run: open work, not waiting on the customer."""
    return Q(status__in=[Status.NEW, Status.OPEN])


def _deadline(ticket: Ticket) -> dt.datetime | None:
    return ticket.first_response_due if ticket.first_response_at is None else ticket.resolution_due


def check_all(now: dt.datetime | None = None) -> SlaCheck:
    """Warn assignees of tickets close to a deadline; on a breach, mark it and escalate once."""
    now = now or clock.now()
    result = SlaCheck()
    horizon = now + dt.timedelta(days=7)
    candidates = Ticket.objects.filter(_running()).filter(
        Q(first_response_at__isnull=True, first_response_due__lte=horizon) | Q(resolution_due__lte=horizon)
    )
    for ticket_id in candidates.order_by("pk").values_list("pk", flat=True):
        outcome = _check_one(ticket_id, now)
        if outcome == "warned":
            result.warned += 1
        elif outcome == "escalated":
            result.breached += 1
            result.escalated += 1
        elif outcome == "breached":
            result.breached += 1
    return result


@transaction.atomic
def _check_one(ticket_id: int, now: dt.datetime) -> str:
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("store", "assignee").get(pk=ticket_id)
    deadline = _deadline(ticket)
    if deadline is None or not ticket.is_open or ticket.status == Status.PENDING:
        return ""
    if now >= deadline:
        return _breach(ticket, now)
    _first, _resolution, warn = targets(ticket.priority)
    warn_from = deadline - dt.timedelta(minutes=warn)
    if ticket.warned_at is None and now >= warn_from:
        ticket.warned_at = now
        ticket.save(update_fields=["warned_at"])
        history.record_event(ticket, "sla_warning", data={"due": deadline.isoformat()}, at=now)
        if ticket.assignee is not None and ticket.assignee.email:
            _notify([ticket.assignee.email], f"{ticket.number} is close to its SLA deadline", ticket, deadline)
        return "warned"
    return ""


def _breach(ticket: Ticket, now: dt.datetime) -> str:
    which = "first_response" if ticket.first_response_at is None else "resolution"
    field = f"{which}_breached"
    if getattr(ticket, field):
        return ""
    setattr(ticket, field, True)
    updates = [field]
    history.record_event(ticket, "sla_breached", data={"target": which}, at=now)
    if ticket.escalated_at is not None:
        ticket.save(update_fields=updates)
        return "breached"
    from rapport.service.assignment import escalation_target  # assignment imports sla for deadlines

    previous = ticket.assignee
    target = escalation_target(ticket)
    ticket.escalated_at = now
    updates.append("escalated_at")
    if target is not None and target != previous:
        ticket.assignee = target
        updates.append("assignee")
    ticket.save(update_fields=updates)
    history.record_event(
        ticket,
        "escalated",
        data={"from": previous.get_username() if previous else None, "to": target.get_username() if target else None},
        at=now,
    )
    leads = list(
        get_user_model()
        .objects.filter(service_profile__is_lead=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if leads:
        _notify(leads, f"{ticket.number} breached its {which.replace('_', ' ')} target", ticket, _deadline(ticket))
    return "escalated"


def _notify(recipients: list[str], subject: str, ticket: Ticket, deadline: dt.datetime | None) -> None:
    """Staff notices go through the one delivery path; a failure is logged, not raised."""
    link = f"{public_url()}/service/tickets/{ticket.pk}/"
    body = f"{ticket.number}: {ticket.subject}\nDue: {deadline.isoformat() if deadline else '-'}\n{link}\n"
    try:
        results = notify_staff(recipients, subject=subject, body=body, reference=ticket.number)
    except Exception:  # a database or adapter fault must not stop the SLA check
        logger.exception("could not notify %s staff about %s", len(recipients), ticket.number)
        return
    for result in results:
        if not result.delivered:
            logger.warning("notice %s about %s not sent: %s", result.message_id, ticket.number, result.detail)
