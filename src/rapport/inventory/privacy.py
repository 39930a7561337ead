"""Back-in-stock subscriptions in a data-subject request: the copy lists them, the erasure deletes them."""

from __future__ import annotations

from rapport.customers.models import Customer
from rapport.inventory.models import StockSubscription
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {"back_in_stock_subscriptions": rows(StockSubscription.objects.filter(customer=customer))}


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    deleted, _counts = StockSubscription.objects.filter(customer=customer).delete()
    return {"back_in_stock_subscriptions_deleted": deleted}


def register() -> None:
    register_privacy_hook(PrivacyHook("back_in_stock", ("inventory.StockSubscription",), export, erase))
