"""Newly stored tracking events, for the domains that react to behaviour (journeys, scores).

Sent inside the ingest transaction after the events are stored, once per request, with only the
messages that were new (never a client's retry). Receivers should enqueue their work with
``rapport.core.jobs.enqueue`` rather than do it inline: ingestion latency is every shop's latency.
"""

from __future__ import annotations

from django.dispatch import Signal

events_recorded = Signal()
"""``source``: the Source; ``messages``: list of ``rapport.events.messages.Message`` (each with
``type``, ``name``, ``customer_id``, ``properties``, ``timestamp``)."""
