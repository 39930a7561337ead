"""Reads of the service domain that others (views, the API) share."""

from __future__ import annotations

from django.db.models import Q

from rapport.core import pii


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
