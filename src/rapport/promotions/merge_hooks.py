"""When two customers merge, the merged customer's promotion uses and personal promotions go to the
survivor: the uses keep counting toward the survivor's per-customer limits, the grants stay usable
(the merged one is deleted afterwards, which would take the grants with it)."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.promotions.models import PersonalPromotion, PromotionUse


def move_uses_and_grants(survivor: Customer, merged: Customer) -> int:
    uses = PromotionUse.objects.filter(customer=merged).update(customer=survivor)
    return uses + PersonalPromotion.objects.filter(customer=merged).update(customer=survivor)


def register() -> None:
    register_merge_hook("promotions", move_uses_and_grants)
