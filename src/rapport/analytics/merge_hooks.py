"""When two customers merge, the survivor's metrics are recomputed from the orders it now holds.

Metrics are derived data: nothing moves (the merged customer's row goes with it), the survivor
is rescored once the merge commits.
"""

from __future__ import annotations

from rapport.analytics.tasks import customers_changed
from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer


def rescore_survivor(survivor: Customer, merged: Customer) -> int:
    customers_changed([survivor.pk])
    return 0


def register() -> None:
    register_merge_hook("analytics", rescore_survivor)
