"""A store clerk on a phone (390×844): finds a member by the last four digits of their phone,
takes the member code they show, redeems a coupon in one confirmed step, and sees it redeemed on
the member's 360 page; the pages never scroll sideways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts import roles
from rapport.core.actor import Actor
from rapport.counter import codes
from rapport.loyalty.services import coupons
from rapport.loyalty.tests.factories import coupon_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_clerk_redeems_a_coupon_at_the_counter_on_a_phone(page, sign_in, make_staff, make_customer, store):
    clerk = make_staff(roles.STORE_STAFF, store=store, username="clerk")
    member = make_customer(name="Chen Jing", phone="13900004321", store=store.pk)
    template = coupon_template(name="店庆券 20 off", threshold=Decimal("0"))
    coupon = coupons.issue(template, member, key="c", actor=Actor.system("test"))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(clerk.username)

    page.goto("/counter/")
    assert _fits(page)
    page.fill("#counter-q", "4321")
    page.click("#counter-find button[type=submit]")
    page.wait_for_selector("#counter-member")
    assert "C****" in page.inner_text("#counter-member") and "139****4321" in page.inner_text("#counter-member")
    assert _fits(page)

    page.goto("/counter/")
    page.fill("#counter-q", codes.issue(member).code)
    page.click("#counter-find button[type=submit]")
    page.wait_for_selector("#counter-member")
    assert page.inner_text("#glance-coupons") == "1"

    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#redeem-receipt", "POS-0001")
    page.fill("#redeem-total", "120")
    page.select_option("#redeem-coupon", coupon.code)
    page.click("#counter-redeem button[type=submit]")
    page.wait_for_selector(".message.success")
    assert "100.00" in page.inner_text(".message.success")
    assert page.inner_text("#glance-coupons") == "0"
    assert _fits(page)

    page.goto(f"/customers/{member.pk}/?tab=assets")
    row = page.locator("#customer-coupons tr", has_text=coupon.code)
    assert "Redeemed" in row.inner_text() and "store:POS-0001" in row.inner_text()
