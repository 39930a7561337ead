from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.test import Client

from rapport.accounts import roles
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, Coupon, CouponTemplate, Level
from rapport.loyalty.services import points
from rapport.loyalty.tests.factories import coupon_template


def _signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_assets_tab_shows_balances_and_ledger(
    client: Client, admin_user: Any, member: Customer, system_actor: Actor, levels: list[Level]
) -> None:
    points.award(member, points=320, key="gift", actor=system_actor, reason="Welcome")
    page = _signed_in(client, admin_user).get(f"/customers/{member.pk}/?tab=assets")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="points-balance">320<' in body and "Welcome" in body and "Silver" in body


def test_adjustment_form_needs_a_reason_and_changes_the_balance(
    client: Client, admin_user: Any, member: Customer
) -> None:
    client = _signed_in(client, admin_user)
    url = f"/loyalty/customers/{member.pk}/adjust/"
    client.post(url, {"asset": "points", "delta": "50", "reason": "", "idempotency_key": "k1"})
    assert not Account.objects.filter(customer=member, balance__gt=0).exists()
    client.post(url, {"asset": "points", "delta": "50", "reason": "Apology", "idempotency_key": "k2"})
    client.post(url, {"asset": "points", "delta": "50", "reason": "Apology", "idempotency_key": "k2"})  # resubmitted
    assert Account.objects.get(customer=member, asset=Asset.POINTS).balance == Decimal("50")


def test_an_analyst_sees_assets_but_cannot_adjust(
    client: Client, make_staff: Callable[..., Any], member: Customer
) -> None:
    client = _signed_in(client, make_staff(roles.ANALYST))
    assert client.get(f"/customers/{member.pk}/?tab=assets").status_code == 200
    response = client.post(
        f"/loyalty/customers/{member.pk}/adjust/",
        {"asset": "points", "delta": "5", "reason": "x", "idempotency_key": "k"},
    )
    assert response.status_code == 403


def test_settings_pages_create_a_coupon_template_with_validation(client: Client, admin_user: Any) -> None:
    client = _signed_in(client, admin_user)
    assert client.get("/loyalty/").status_code == 200
    bad = client.post(
        "/loyalty/settings/coupon/new/",
        {
            "name": "Half",
            "kind": "percent_off",
            "percent_off": "150",
            "amount_off": "0",
            "max_discount": "0",
            "threshold": "0",
            "valid_days": "0",
            "per_customer_limit": "1",
            "total_stock": "0",
            "is_active": "on",
        },
    )
    assert bad.status_code == 200 and not CouponTemplate.objects.exists()
    good = client.post(
        "/loyalty/settings/coupon/new/",
        {
            "name": "Tea 10",
            "kind": "amount_off",
            "amount_off": "10",
            "percent_off": "0",
            "max_discount": "0",
            "threshold": "50",
            "valid_days": "30",
            "per_customer_limit": "1",
            "total_stock": "0",
            "category_codes": "tea, teaware",
            "is_active": "on",
        },
    )
    template = CouponTemplate.objects.get()
    assert good.status_code == 302 and template.category_codes == ["tea", "teaware"]


def test_issue_a_coupon_from_the_tab(client: Client, admin_user: Any, member: Customer) -> None:
    template = coupon_template()
    _signed_in(client, admin_user).post(
        f"/loyalty/customers/{member.pk}/coupons/", {"template": template.pk, "idempotency_key": "k"}
    )
    assert Coupon.objects.get().customer == member
