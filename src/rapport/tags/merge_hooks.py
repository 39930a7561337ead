"""When two customers merge, the survivor takes the merged customer's tags and tag history."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.tags import services, triggers


def move_tags(survivor: Customer, merged: Customer) -> int:
    moved = services.move_tags(survivor, merged)
    triggers.customers_changed([survivor.pk])
    return moved


def register() -> None:
    register_merge_hook("tags", move_tags)
