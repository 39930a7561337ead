"""What other apps read of service: complaints opened (for the owners' care reminders), and the
ticket subject search that views and the API share."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from rapport.core import pii
from rapport.service.models import Category, Ticket


def complaints_opened_on(day: dt.date) -> QuerySet[Ticket]:
    """Complaint tickets with a customer opened on ``day`` (UTC)."""
    return Ticket.objects.filter(category=Category.COMPLAINT, customer__isnull=False, created_at__date=day)


def subject_matches(query: str) -> Q:
    """Tickets whose subject holds every word of ``query`` (a Latin word as a word or its start,
    Chinese by its characters), compared as blind tokens: subjects are encrypted at rest."""
    tokens = pii.search_query_tokens(query)
    if not tokens:
        return Q(pk__in=[])
    condition = Q()
    for token in tokens:
        condition &= Q(subject_search__contains=token)
    return condition
