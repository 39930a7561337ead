"""Background work of clienteling: each morning's care reminders for every owner, and alerts to owners
as things happen."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.clienteling import alerts, reminders
from rapport.core.jobs import tracked_task


@tracked_task(name="rapport.clienteling.make_reminders", label=_("Care reminders"), resumable=True)
def make_reminders() -> dict[str, int]:
    """Today's reminders (today in the installation's time zone); safe to run twice."""
    return reminders.make_reminders(timezone.localdate())


@tracked_task(name="rapport.clienteling.alert_owners", label=_("Alerts to owners"), resumable=True)
def alert_owners() -> dict[str, int]:
    """Alerts of the last two days' events, each made and notified once; safe to run twice."""
    return alerts.alert_owners()
