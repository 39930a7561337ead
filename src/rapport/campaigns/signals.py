"""Signals campaigns sends, so that its services need not know its jobs."""

from django.dispatch import Signal

# A plan started or resumed (keyword ``plan_id``): its first run is due after the commit.
plan_started = Signal()
