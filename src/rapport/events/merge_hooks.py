"""When two customers merge, their events and devices go to the survivor."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.events.models import AnonymousVisitor, Event


def move_events(survivor: Customer, merged: Customer) -> int:
    AnonymousVisitor.objects.filter(customer=merged).update(customer=survivor)
    return Event.objects.filter(customer_id=merged.pk).update(customer_id=survivor.pk)


def register() -> None:
    register_merge_hook("events", move_events)
