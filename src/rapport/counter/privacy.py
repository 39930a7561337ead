"""The counter's part in a data-subject request: the member codes shown to the person."""

from __future__ import annotations

from rapport.counter.models import MemberCode
from rapport.customers.models import Customer
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {"member_codes": rows(MemberCode.objects.filter(customer=customer), omit=("code_hash",))}


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    deleted, _counts = MemberCode.objects.filter(customer=customer).delete()
    return {"member_codes_deleted": deleted}


def register() -> None:
    register_privacy_hook(PrivacyHook("counter", ("counter.MemberCode",), export, erase))
