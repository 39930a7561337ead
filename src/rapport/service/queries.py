"""What other apps read of service: complaints opened (for the owners' alerts), and the
ticket subject search that views and the API share."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from rapport.core import pii
from rapport.service.models import Category, Ticket


def complaints_opened_since(since: dt.datetime) -> list[tuple[int, int, dt.datetime]]:
    """(ticket id, customer id, opened at) of complaint tickets with a customer opened since ``since``:
    what the owners' alerts scan."""
    tickets = Ticket.objects.filter(category=Category.COMPLAINT, customer__isnull=False, created_at__gte=since)
    return [(pk, customer_id, at) for pk, customer_id, at in tickets.values_list("pk", "customer_id", "created_at")]


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
