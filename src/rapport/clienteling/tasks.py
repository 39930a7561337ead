"""Background work of clienteling: each morning's care reminders for every owner."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from rapport.clienteling import reminders


@shared_task(name="rapport.clienteling.make_reminders")
def make_reminders() -> dict[str, int]:
    """Today's reminders (today in the installation's time zone); safe to run twice."""
    return reminders.make_reminders(timezone.localdate())
