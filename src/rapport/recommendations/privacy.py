"""Recommendations in a data-subject request: the person's stored list is derived from their
purchases and behaviour, so the copy shows it and the erasure deletes it."""

from __future__ import annotations

from rapport.customers.models import Customer
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows
from rapport.recommendations.models import Recommendation


def export(customer: Customer) -> Rows:
    return {"recommendations": rows(Recommendation.objects.filter(customer=customer))}


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    deleted, _counts = Recommendation.objects.filter(customer=customer).delete()
    return {"recommendations_deleted": deleted}


def register() -> None:
    register_privacy_hook(PrivacyHook("recommendations", ("recommendations.Recommendation",), export, erase))
