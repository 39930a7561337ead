"""What other apps read of service: complaints opened (for the owners' care reminders)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from rapport.service.models import Category, Ticket


def complaints_opened_on(day: dt.date) -> QuerySet[Ticket]:
    """Complaint tickets with a customer opened on ``day`` (UTC)."""
    return Ticket.objects.filter(category=Category.COMPLAINT, customer__isnull=False, created_at__date=day)
