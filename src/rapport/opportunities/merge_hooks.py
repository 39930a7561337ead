"""When two customers merge, the merged customer's opportunities go to the survivor (the merged
one is deleted afterwards, which would otherwise take its opportunities with it)."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.opportunities.models import Opportunity


def move_opportunities(survivor: Customer, merged: Customer) -> int:
    return Opportunity.objects.filter(customer=merged).update(customer=survivor)


def register() -> None:
    register_merge_hook("opportunities", move_opportunities)
