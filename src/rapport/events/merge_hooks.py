"""When two customers merge, their events and devices go to the survivor."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.events.identity import link_events
from rapport.events.models import AnonymousVisitor


def move_events(survivor: Customer, merged: Customer) -> int:
    """Values sealed with the merged customer's key stay so (erasing the survivor shreds the keys of
    the customers merged into them); any still under the key ring move to the survivor's."""
    AnonymousVisitor.objects.filter(customer=merged).update(customer=survivor)
    return link_events("customer_id = %s", [merged.pk], survivor.pk)


def register() -> None:
    register_merge_hook("events", move_events)
