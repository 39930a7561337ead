from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.test import Client

from rapport.accounts import roles
from rapport.accounts.scopes import LOYALTY_READ
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, Entry
from rapport.loyalty.services import coupons, points
from rapport.loyalty.tests.factories import coupon_template

JSON = "application/json"


def _post(api: Client, url: str, body: dict[str, Any]) -> Any:
    return api.post(url, body, content_type=JSON)


def test_adjustment_then_statement_and_assets(admin_api: Client, member: Customer) -> None:
    url = f"/api/v1/loyalty/customers/{member.pk}/adjustments"
    body = {"asset": "points", "delta": "150", "reason": "Welcome gift", "idempotency_key": "a1"}
    created = _post(admin_api, url, body)
    assert created.status_code == 201 and created.json()["balance_after"] == "150.00"
    assert _post(admin_api, url, body).json()["id"] == created.json()["id"]
    statement = admin_api.get(f"/api/v1/loyalty/customers/{member.pk}/entries", {"asset": "points"}).json()
    assert statement["count"] == 1 and statement["results"][0]["reason"] == "Welcome gift"
    assets = admin_api.get(f"/api/v1/loyalty/customers/{member.pk}/assets").json()
    assert assets["balances"]["points"] == "150.00"


def test_bad_adjustments_are_refused_with_the_field(admin_api: Client, member: Customer) -> None:
    url = f"/api/v1/loyalty/customers/{member.pk}/adjustments"
    missing_reason = _post(admin_api, url, {"asset": "points", "delta": "5", "reason": "", "idempotency_key": "x"})
    assert missing_reason.status_code == 422
    fractional = _post(admin_api, url, {"asset": "points", "delta": "1.5", "reason": "r", "idempotency_key": "y"})
    assert fractional.status_code == 422 and fractional.json()["errors"][0]["field"] == "delta"
    overdraw = _post(admin_api, url, {"asset": "points", "delta": "-5", "reason": "r", "idempotency_key": "z"})
    assert overdraw.status_code == 409 and overdraw.json()["errors"][0]["code"] == "insufficient"
    unknown = _post(admin_api, url, {"asset": "gold", "delta": "5", "reason": "r", "idempotency_key": "w"})
    assert unknown.status_code == 422
    assert not Entry.objects.exists()


def test_checkout_quote_redeem_and_reverse(admin_api: Client, member: Customer, system_actor: Actor) -> None:
    points.award(member, points=2000, key="seed", actor=system_actor)
    coupon = coupons.issue(coupon_template(), member, key="k", actor=system_actor)
    cart = {"total": "200.00", "items": [{"sku": "TEA-1", "amount": "200.00", "category": "tea"}]}
    quote = _post(admin_api, "/api/v1/loyalty/checkout/quote", {"customer": member.pk, "cart": cart}).json()
    assert quote["coupons"][0]["discount"] == "20.00" and quote["points"]["max_usable"] == 2000
    body = {
        "customer": member.pk,
        "cart": cart,
        "idempotency_key": "shop-1",
        "order_reference": "shop-1",
        "points": 2000,
        "coupon_code": coupon.code,
    }
    redeemed = _post(admin_api, "/api/v1/loyalty/checkout/redeem", body)
    assert redeemed.status_code == 201
    assert redeemed.json()["amount_due"] == "160.00"  # 200 - 20 coupon - 20.00 of points
    assert _post(admin_api, "/api/v1/loyalty/checkout/redeem", body).json()["id"] == redeemed.json()["id"]
    reversed_ = _post(admin_api, "/api/v1/loyalty/checkout/redemptions/shop-1/reverse", {})
    assert reversed_.json()["status"] == "reversed"
    assert Account.objects.get(customer=member, asset=Asset.POINTS).balance == Decimal("2000")


def test_checkout_with_an_unknown_coupon_or_store_changes_nothing(admin_api: Client, member: Customer) -> None:
    body = {
        "customer": member.pk,
        "cart": {"total": "50.00"},
        "idempotency_key": "k",
        "order_reference": "o",
        "coupon_code": "NOPE",
    }
    assert _post(admin_api, "/api/v1/loyalty/checkout/redeem", body).status_code == 404
    body["cart"] = {"total": "50.00", "store": "nowhere"}
    answer = _post(admin_api, "/api/v1/loyalty/checkout/redeem", body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "cart.store"
    body["cart"] = {"total": "-1"}
    assert _post(admin_api, "/api/v1/loyalty/checkout/redeem", body).status_code == 422


def test_scopes_and_roles_are_enforced(
    api_client_for: Callable[..., Client], make_staff: Callable[..., Any], member: Customer
) -> None:
    reader = api_client_for(make_staff(roles.OPERATOR), scopes=[LOYALTY_READ])
    assert reader.get(f"/api/v1/loyalty/customers/{member.pk}/assets").status_code == 200
    denied = _post(
        reader,
        f"/api/v1/loyalty/customers/{member.pk}/adjustments",
        {"asset": "points", "delta": "5", "reason": "r", "idempotency_key": "k"},
    )
    assert denied.status_code == 403
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert (
        _post(analyst, "/api/v1/loyalty/checkout/quote", {"customer": member.pk, "cart": {"total": "1"}}).status_code
        == 403
    )


def test_issue_to_customers_reports_skips(
    admin_api: Client, member: Customer, make_customer: Callable[..., Customer]
) -> None:
    template = coupon_template(total_stock=1)
    other = make_customer()
    answer = _post(
        admin_api,
        f"/api/v1/loyalty/coupon-templates/{template.pk}/issue",
        {"customer_ids": [member.pk, other.pk], "idempotency_key": "launch"},
    ).json()
    assert answer == {"issued": 1, "skipped": {"out_of_stock": 1}}
