from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from rapport.core.actor import Actor
from rapport.customers.consent import has_consent, set_consent
from rapport.customers.models import Customer
from rapport.loyalty.models import Coupon, CouponKind, CouponTemplate, Level
from rapport.loyalty.services import coupons, levels, points, stored_value


@pytest.fixture
def member(make_customer: Callable[..., Customer], system_actor: Actor) -> Customer:
    customer = make_customer(name="Chen Jing", phone="13700000009")
    points.award(customer, points=1200, key="gift", actor=system_actor, reason="Welcome")
    stored_value.top_up(customer, amount="300", key="t", actor=system_actor)
    Level.objects.create(name="Silver", rank=1, threshold=Decimal("0"))
    Level.objects.create(name="Gold", rank=2, threshold=Decimal("2000"), free_shipping=True)
    levels.refresh(customer.pk, actor=system_actor)
    return customer


@pytest.fixture
def claimable(db: Any) -> CouponTemplate:
    return CouponTemplate.objects.create(
        name="Tea 15 off", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("15"), valid_days=30, is_claimable=True
    )


def test_home_history_and_level_show_only_the_members_own_assets(
    member: Customer,
    make_customer: Callable[..., Customer],
    member_client: Callable[[Customer], Client],
    system_actor: Actor,
) -> None:
    stranger = make_customer(name="Stranger")
    points.award(stranger, points=777, key="s", actor=system_actor, reason="Not yours")
    client = member_client(member)
    home = client.get("/portal/").content.decode()
    assert 'id="points-balance">1200<' in home and "300.00" in home and "Silver" in home
    history = client.get("/portal/history/?asset=points").content.decode()
    assert "Welcome" in history and "Not yours" not in history
    assert "Gold" in client.get("/portal/level/").content.decode()


def test_claiming_a_coupon_once(
    member: Customer, claimable: CouponTemplate, member_client: Callable[[Customer], Client]
) -> None:
    client = member_client(member)
    page = client.get("/portal/coupons/").content.decode()
    assert "Tea 15 off" in page
    client.post(f"/portal/coupons/{claimable.pk}/claim/", {"key": "a"})
    client.post(f"/portal/coupons/{claimable.pk}/claim/", {"key": "b"})  # limit of one per member
    assert Coupon.objects.filter(customer=member).count() == 1
    assert Coupon.objects.get().code in client.get("/portal/coupons/").content.decode()


def test_preferences_and_one_click_withdrawal(
    member: Customer, member_client: Callable[[Customer], Client], system_actor: Actor
) -> None:
    set_consent(member, channel="email", purpose="marketing", granted=True, actor=system_actor)
    client = member_client(member)
    client.post("/portal/preferences/", {"marketing_sms": "on"})
    assert has_consent(member.pk, "sms", "marketing") and not has_consent(member.pk, "email", "marketing")
    client.post("/portal/preferences/stop-marketing/")
    assert not has_consent(member.pk, "sms", "marketing")
    assert has_consent(member.pk, "sms", "service")


def test_a_member_cannot_claim_a_template_that_is_not_claimable(
    member: Customer, member_client: Callable[[Customer], Client]
) -> None:
    hidden = coupons.save_template(
        CouponTemplate(name="Staff only", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("5"), valid_days=5),
        actor=Actor.system(),
    )
    assert member_client(member).post(f"/portal/coupons/{hidden.pk}/claim/", {"key": "x"}).status_code == 404


def test_the_coupons_page_offers_only_coupons_the_member_can_still_claim(
    member: Customer, claimable: CouponTemplate, member_client: Callable[[Customer], Client], system_actor: Actor
) -> None:
    client = member_client(member)
    claim_url = f"/portal/coupons/{claimable.pk}/claim/"
    assert claim_url in client.get("/portal/coupons/").content.decode()
    coupons.issue(claimable, member, key="staff", actor=system_actor)  # the limit is one per member
    page = client.get("/portal/coupons/").content.decode()
    assert claim_url not in page and "Get a coupon" not in page


def test_a_refused_claim_speaks_to_the_member(
    member: Customer, claimable: CouponTemplate, member_client: Callable[[Customer], Client], settings: Any
) -> None:
    client = member_client(member)
    client.post(f"/portal/coupons/{claimable.pk}/claim/", {"key": "a"}, follow=True)
    # The same page, claimed again from a second tab.
    answer = client.post(f"/portal/coupons/{claimable.pk}/claim/", {"key": "b"}, follow=True)
    shown = [str(m) for m in answer.context["messages"]]
    assert shown == ["You already have as many of these coupons as you can get."]
    settings.LANGUAGE_CODE = "zh-hans"
    answer = client.post(
        f"/portal/coupons/{claimable.pk}/claim/", {"key": "c"}, follow=True, headers={"accept-language": "zh-hans"}
    )
    assert [str(m) for m in answer.context["messages"]] == ["您已领取此优惠券的最多数量。"]
