"""Alerts to owners as things happen (关怀提醒, 即时): when a complaint ticket is opened by an owned
customer, or the level review lowers an owned customer's level, the owner hears of it within minutes
rather than on the next morning's list.

An alert is a care reminder (:class:`~rapport.clienteling.models.Reminder`) made when the event is
seen, with ``event`` naming it (``ticket:<id>``, ``level:<change id>``): the database keeps one per
event, and one per customer, reason and day, so a rerun or two runs at once add nothing. The owner
is notified through the console's one mechanism for staff notices, as low-stock warnings are: in the
app (the home page's "Alerts on my customers" panel and their reminder list) and, unless they turned
it off (:class:`~rapport.clienteling.models.AlertSettings`), by email through
``campaigns.delivery.notify_staff`` with a link to the customer's card — once: ``alerted_at`` is
claimed under a row lock before the mail goes. A complaint alert also makes the owner a task to
follow the ticket up (source *alert*).

The job (``rapport.clienteling.alert_owners``, Celery beat every 5 minutes) scans the last two days,
so a missed run catches up, and reads the events through service's and loyalty's queries modules.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.campaigns.delivery import notify_staff
from rapport.clienteling.models import (
    AlertSettings,
    Priority,
    Reminder,
    ReminderReason,
    ReminderStatus,
    Task,
    TaskKind,
    TaskSource,
)
from rapport.core.public_url import public_url
from rapport.customers.models import Customer
from rapport.loyalty import queries as loyalty_queries
from rapport.service import queries as service_queries

logger = logging.getLogger(__name__)
LOOKBACK = dt.timedelta(days=2)
SHOWN_DAYS = 7
# One event: (customer id, reason, event key, when, detail)
Event = tuple[int, str, str, dt.datetime, str]


def _events(since: dt.datetime) -> Iterable[Event]:
    for pk, customer_id, at in service_queries.complaints_opened_since(since):
        yield customer_id, ReminderReason.COMPLAINT, f"ticket:{pk}", at, f"T-{pk:06d}"
    for pk, customer_id, level, at in loyalty_queries.levels_lowered_since(since):
        yield customer_id, ReminderReason.LEVEL_DROPPED, f"level:{pk}", at, level


def alert_owners(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Make the alerts of the events of the last two days, then notify their owners of those not yet
    notified; how many were made and emailed."""
    now = now or timezone.now()
    events = list(_events(now - LOOKBACK))
    owners = dict(
        Customer.objects.filter(pk__in={e[0] for e in events}, owner__isnull=False, owner__is_active=True).values_list(
            "pk", "owner_id"
        )
    )
    alerts = [
        Reminder(
            owner_id=owners[customer_id],
            customer_id=customer_id,
            reason=reason,
            day=timezone.localdate(at),
            show_on=timezone.localdate(at),
            detail=detail[:200],
            event=event,
            created_at=now,
        )
        for customer_id, reason, event, at, detail in events
        if customer_id in owners
    ]
    Reminder.objects.bulk_create(alerts, ignore_conflicts=True)  # those made before, or at once elsewhere, stay
    made = list(
        Reminder.objects.filter(event__in=[a.event for a in alerts], created_at=now).values_list(
            "owner_id", "customer_id", "reason", "detail", "event"
        )
    )
    _follow_up_complaints(made, now)
    return {"made": len(made), "emailed": notify_owners(now=now)}


def _follow_up_complaints(made: list[tuple[int, int, str, str, str]], now: dt.datetime) -> None:
    """Each complaint alert made now also gives its owner a task to follow the ticket up by tomorrow
    (source *alert*): made with the alert, so once."""
    Task.objects.bulk_create(
        [
            Task(
                customer_id=customer_id,
                kind=TaskKind.TICKET,
                title=_("Follow up complaint %(ticket)s") % {"ticket": detail},
                priority=Priority.HIGH,
                due_at=now + dt.timedelta(days=1),
                assignee_id=owner_id,
                source=TaskSource.ALERT,
                source_ref=event,
                created_at=now,
            )
            for owner_id, customer_id, reason, detail, event in made
            if reason == ReminderReason.COMPLAINT
        ]
    )


def notify_owners(*, now: dt.datetime) -> int:
    """Claim the alerts nobody was notified of and email their owners who want it (after commit)."""
    with transaction.atomic():
        claimed = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(alerted_at=None, created_at__gte=now - LOOKBACK)
            .exclude(event="")
            .order_by("pk")
            .select_related("customer", "owner")
        )
        Reminder.objects.filter(pk__in=[a.pk for a in claimed]).update(alerted_at=now)
        quiet = set(
            AlertSettings.objects.filter(user_id__in={a.owner_id for a in claimed}, by_email=False).values_list(
                "user_id", flat=True
            )
        )
        to_email = [a for a in claimed if a.owner_id not in quiet and a.owner.email]
        if to_email:
            transaction.on_commit(lambda: _email(to_email))
    return len(to_email)


def wants_email(user: Any) -> bool:
    """Email is on unless the staff member turned it off."""
    return not AlertSettings.objects.filter(user_id=user.pk, by_email=False).exists()


def _email(alerts: list[Reminder]) -> None:
    """One mail per owner listing their new alerts, each with a link to the customer's card."""
    by_owner: dict[int, list[Reminder]] = defaultdict(list)
    for alert in alerts:
        by_owner[alert.owner_id].append(alert)
    for mine in by_owner.values():
        lines = [
            f"{alert.get_reason_display()} ({alert.detail}): {alert.customer.name} "
            f"{public_url()}{reverse('customers:detail', args=[alert.customer_id])}"
            for alert in mine
        ]
        try:
            notify_staff(
                [mine[0].owner.email],
                subject=_("Alerts on your customers: %(count)s") % {"count": len(mine)},
                body="\n".join(lines) + "\n",
                reference=f"owner-alerts:{mine[0].owner_id}",
            )
        except Exception:  # the alerts stay on the owner's list and home page
            logger.exception("could not email %s alerts to owner %s", len(mine), mine[0].owner_id)


def recent_alerts(owner: Any, today: dt.date) -> QuerySet[Reminder]:
    """The owner's open alerts of the last week, newest first (the home page panel)."""
    return (
        Reminder.objects.filter(owner=owner, status=ReminderStatus.OPEN, day__gte=today - dt.timedelta(days=SHOWN_DAYS))
        .exclude(event="")
        .select_related("customer")
        .order_by("-created_at", "-pk")
    )


def set_email_alerts(user: Any, *, by_email: bool) -> AlertSettings:
    chosen, _created = AlertSettings.objects.update_or_create(user=user, defaults={"by_email": by_email})
    return chosen
