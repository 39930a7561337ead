"""Goodwill grants in a data-subject request: the grants stay (they count against staff limits
and match ledger entries), the reason typed by staff is blanked."""

from __future__ import annotations

from rapport.customers.models import Customer
from rapport.loyalty.models import GoodwillGrant
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {"goodwill_grants": rows(GoodwillGrant.objects.filter(customer=customer), omit=("idempotency_key",))}


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    return {"goodwill_reasons_erased": GoodwillGrant.objects.filter(customer=customer).update(reason="—")}


def register() -> None:
    register_privacy_hook(PrivacyHook("goodwill", ("loyalty.GoodwillGrant",), export, erase))
