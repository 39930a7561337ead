"""Promotions' part in a data-subject request: the uses and the personal promotions granted are
exported; at erasure they stay as they are — amounts, keys and dates, no personal text — pointing at
the anonymous customer, so promotion reports, hold-out comparisons and usage caps keep counting them."""

from __future__ import annotations

from rapport.customers.models import Customer
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows
from rapport.promotions.models import PersonalPromotion, PromotionUse


def export(customer: Customer) -> Rows:
    return {
        "promotion_uses": rows(PromotionUse.objects.filter(customer=customer)),
        "personal_promotions": rows(PersonalPromotion.objects.filter(customer=customer)),
    }


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    return {}


def register() -> None:
    register_privacy_hook(
        PrivacyHook("promotions", ("promotions.PromotionUse", "promotions.PersonalPromotion"), export, erase)
    )
