"""The member portal on a phone: sign in with a code, see balances, claim a coupon, stop marketing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from rapport.core.actor import Actor
from rapport.customers.consent import has_consent, set_consent
from rapport.customers.models import Customer
from rapport.loyalty.models import CouponKind, CouponTemplate
from rapport.loyalty.services import points

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_member_signs_in_on_a_phone_and_manages_assets_and_consent(
    phone: Any, make_customer: Any, sent_codes: list[str], system_actor: Actor
) -> None:
    member: Customer = make_customer(name="Liu Yang", phone="13600000003")
    points.award(member, points=880, key="gift", actor=system_actor, reason="Welcome")
    set_consent(member, channel="sms", purpose="marketing", granted=True, actor=system_actor)
    CouponTemplate.objects.create(
        name="Noodles 8 off", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("8"), valid_days=14, is_claimable=True
    )

    phone.goto("/portal/coupons/")
    phone.fill("#id_identifier", "136 0000 0003")
    phone.click("button[type=submit]")
    phone.wait_for_selector("#id_code")
    phone.fill("#id_code", sent_codes[-1])
    phone.click("button[type=submit]")
    phone.wait_for_url("**/portal/coupons/")

    phone.click("text=Claim")
    assert phone.locator(".coupon").count() == 1
    phone.click(".portal-nav >> text=Home")
    assert phone.inner_text("#points-balance") == "880"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    phone.click(".portal-nav >> text=Notifications")
    phone.click("text=Stop all marketing messages")
    phone.wait_for_selector("text=no more marketing messages")
    assert not has_consent(member.pk, "sms", "marketing")
