"""When two customers merge, the survivor takes every asset of the merged customer, once."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.loyalty.models import Redemption
from rapport.loyalty.services import cards, coupons, ledger, levels


def move_assets(survivor: Customer, merged: Customer) -> int:
    moved = ledger.move_accounts(survivor.pk, merged.pk)
    moved += coupons.move_coupons(survivor, merged)
    moved += cards.move_cards(survivor, merged)
    moved += Redemption.objects.filter(customer=merged).update(customer=survivor)
    moved += levels.move_membership(survivor, merged)
    return moved


def register() -> None:
    register_merge_hook("loyalty", move_assets)
