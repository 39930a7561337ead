"""Newly stored tracking events, for the domains that react to behaviour (journeys, scores).

Sent inside the resolver's transaction after the events are stored, once per source in each
chunk of staged messages it resolves (up to a few thousand), with only the messages that were
new (never a client's retry). Receivers should enqueue their work with
``rapport.core.jobs.enqueue`` rather than do it inline: resolution speed bounds how fast events
are stored.
"""

from __future__ import annotations

from django.dispatch import Signal

events_recorded = Signal()
"""``source``: the Source; ``messages``: list of ``rapport.events.messages.Message`` (each with
``type``, ``name``, ``customer_id``, ``properties``, ``timestamp``)."""
