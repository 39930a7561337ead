"""The "Assets" tab of the customer 360 page: balances, level and progress, expiring points,
coupons, cards, the ledger, and the adjust / issue / give-a-card actions."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.loyalty import forms
from rapport.loyalty.models import BenefitCard, Coupon, Entry, LevelChange
from rapport.loyalty.services import ledger, levels, points, stored_value
from rapport.loyalty.services.program import program_settings


def assets_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    key = uuid.uuid4().hex  # one per rendered form: a double-submitted form changes nothing twice
    return {
        "points_balance": ledger.balances(customer.pk).get("points", 0),
        "wallet": stored_value.balance(customer.pk),
        "progress": levels.progress(customer.pk),
        "expiring": points.expiring(customer.pk, within_days=program_settings().expiry_warning_days),
        "coupons": Coupon.objects.filter(customer=customer).select_related("template")[:50],
        "cards": BenefitCard.objects.filter(customer=customer).select_related("card_type"),
        "entries": Entry.objects.filter(account__customer=customer)
        .select_related("account", "order")
        .order_by(*ledger.STATEMENT_ORDER)[:50],
        "level_changes": LevelChange.objects.filter(customer=customer).select_related("from_level", "to_level")[:20],
        "adjust_form": forms.AdjustmentForm(initial={"idempotency_key": key}),
        "issue_form": forms.IssueCouponForm(initial={"idempotency_key": key}),
        "card_form": forms.GrantCardForm(initial={"idempotency_key": key}),
    }


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "assets",
            _("Assets"),
            "loyalty/tabs/assets.html",
            assets_tab,
            position=35,
            permission="loyalty.view_account",
        )
    )
