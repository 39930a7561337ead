"""Newly stored tracking events, for the domains that react to behaviour (journeys, scores).

Sent inside the transaction that stores the events, with only the messages that were new (never
a client's retry): once per tracking request for the plain events it stored itself (PostgreSQL),
and once per source in each chunk of staged messages the resolver stores. Receivers should
enqueue their work with ``rapport.core.jobs.enqueue`` rather than do it inline: they run on the
tracking API's path.
"""

from __future__ import annotations

from django.dispatch import Signal

events_recorded = Signal()
"""``source``: the Source; ``messages``: list of ``rapport.events.messages.Message`` (each with
``type``, ``name``, ``message_id``, ``customer_id``, ``timestamp``; from the resolver,
``properties`` only for order events: it leaves the others' objects in the database)."""
