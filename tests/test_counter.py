"""The store counter's services over a real database: look-ups (phone, tail, member code, card),
member codes that expire and are good once, redemption at the till (once per key, reversible by
a manager only), sales and returns with their points, top-up with bonus, enrolment with consent,
and goodwill within the role's limits, the same limits agents on a ticket are held to."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput, NotFound, PermissionDeniedError
from rapport.counter import codes, services
from rapport.counter.models import MemberCode
from rapport.customers import services as customer_services
from rapport.customers.models import Consent, Customer
from rapport.loyalty.models import (
    Coupon,
    CouponStatus,
    EarnRule,
    EarnRuleKind,
    GoodwillLimit,
    Redemption,
    TopUpBonus,
)
from rapport.loyalty.services import coupons, ledger, stored_value
from rapport.loyalty.tests.factories import coupon_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(make_customer: Any, other_store: Any) -> Customer:
    return make_customer(name="王芳", phone="13900001234", store=other_store.pk)


@pytest.fixture
def clerk(make_staff: Any, store: Any) -> Any:
    return make_staff(roles.STORE_STAFF, store=store)


@pytest.fixture
def clerk_actor(clerk: Any) -> Actor:
    return Actor(user=clerk, source=Source.CONSOLE)


@pytest.fixture
def coupon(member: Customer, system_actor: Actor) -> Coupon:
    return coupons.issue(coupon_template(threshold=Decimal("0")), member, key="c1", actor=system_actor)


def test_a_clerk_finds_a_member_of_another_store_by_phone_tail_masked_and_audited(member, clerk_actor):
    cards = services.find_members("1234", actor=clerk_actor)
    assert [c.name for c in cards] == ["王****"] and cards[0].phone == "139****1234"
    assert services.visited_customer(cards[0].token) == member
    # the entry is about the member, so its values are sealed with the member's key: read, then compared
    looked_up = AuditEntry.objects.filter(object_id=str(member.pk), changes__has_key="counter_lookup")
    assert [entry.changes["counter_lookup"] for entry in looked_up] == ["phone_tail"]
    assert services.find_members("139 0000 1234", actor=clerk_actor)[0].token
    with pytest.raises(InvalidInput):
        services.find_members("王", actor=clerk_actor)  # no browsing by name at the counter
    assert services.find_members("0000", actor=clerk_actor) == []


def test_an_old_card_number_finds_the_member(member, clerk_actor, system_actor):
    customer_services.add_identity(member, channel="card", external_id="VIP000123", actor=system_actor)
    assert services.visited_customer(services.find_members("VIP000123", actor=clerk_actor)[0].token) == member


def test_a_member_code_works_once_and_not_after_it_expires(member, clerk_actor):
    issued = codes.issue(member)
    assert codes.looks_like_code(issued.code) and issued.qr_data_uri.startswith("data:image/svg+xml;base64,")
    assert issued.barcode_data_uri.startswith("data:image/svg+xml;base64,")
    assert services.visited_customer(services.find_members(issued.code, actor=clerk_actor)[0].token) == member
    with pytest.raises(Conflict) as used:
        codes.accept(issued.code, actor=clerk_actor)
    assert used.value.errors[0].code == "used"
    screenshot = codes.issue(member)
    MemberCode.objects.filter(code_hash=codes.code_hash(screenshot.code)).update(
        expires_at=timezone.now() - dt.timedelta(days=3)
    )
    with pytest.raises(Conflict) as expired:
        codes.accept(screenshot.code, actor=clerk_actor)
    assert expired.value.errors[0].code == "expired"
    with pytest.raises(InvalidInput):
        codes.accept("812345678901", actor=clerk_actor)
    assert codes.forget_expired() == 1  # the screenshot's code, days past its expiry


def test_a_forged_or_stale_visit_token_is_refused(member):
    with pytest.raises(NotFound):
        services.visited_customer("x" + services.visit_token(member.pk))


def test_redeeming_a_coupon_at_the_till_happens_once_and_a_manager_reverses_it(member, clerk_actor, coupon, make_staff):
    first = services.redeem(member, receipt="R-1", total="150", key="k1", actor=clerk_actor, coupon_code=coupon.code)
    again = services.redeem(member, receipt="R-1", total="150", key="k1", actor=clerk_actor, coupon_code=coupon.code)
    assert first.pk == again.pk and first.amount_due == Decimal("130.00")
    assert Redemption.objects.count() == 1
    assert AuditEntry.objects.filter(object_type="loyalty.redemption").count() == 1
    with pytest.raises(Conflict):
        services.redeem(member, receipt="R-2", total="150", key="k2", actor=clerk_actor, coupon_code=coupon.code)
    with pytest.raises(PermissionDeniedError):
        services.reverse_redemption(member, first.pk, actor=clerk_actor)
    manager = Actor(user=make_staff(roles.OPERATOR), source=Source.CONSOLE)
    services.reverse_redemption(member, first.pk, actor=manager)
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.ISSUED


def test_a_store_sale_earns_points_and_a_return_takes_them_back(member, clerk_actor):
    EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1"))
    order = services.record_sale(member, receipt="T-9", total="200.00", actor=clerk_actor)
    assert order.channel == "store" and order.store.code == "sh-01"
    assert ledger.balances(member.pk)["points"] == Decimal("200")
    services.take_return(member, order_id=order.pk, amount="200.00", key="ret1", actor=clerk_actor)
    assert ledger.balances(member.pk)["points"] == Decimal("0")
    with pytest.raises(NotFound):
        services.take_return(member, order_id=order.pk + 999, amount="1", key="ret2", actor=clerk_actor)


def test_top_up_at_the_counter_adds_the_bonus_once(member, clerk_actor):
    TopUpBonus.objects.create(minimum=Decimal("1000"), bonus=Decimal("100"))
    services.top_up(member, amount="1000", key="t1", actor=clerk_actor)
    services.top_up(member, amount="1000", key="t1", actor=clerk_actor)
    assert stored_value.balance(member.pk)["total"] == Decimal("1100.00")


def test_enrolment_needs_agreement_and_records_marketing_consent(clerk_actor, store):
    with pytest.raises(InvalidInput):
        services.enrol(name="李雷", phone="13900005555", agreed=False, marketing=True, actor=clerk_actor)
    customer, cards = services.enrol(name="李雷", phone="13900005555", agreed=True, marketing=True, actor=clerk_actor)
    assert customer.store == store and customer.registration_channel == "store" and cards[0].phone
    assert Consent.objects.get(customer=customer, channel="sms", purpose="marketing").granted
    assert (customer.recruited_by, customer.recruited_at) == (clerk_actor.staff_user, store)  # for new members


def test_goodwill_at_the_counter_stays_within_the_role_limits(member, clerk_actor, clerk, make_staff):
    from rapport.loyalty.services import goodwill

    GoodwillLimit.objects.update_or_create(
        role=roles.STORE_STAFF, defaults={"points_per_grant": 100, "points_per_day": 150, "coupons_per_day": 1}
    )
    goodwill.give_points(member, points=100, reason="久等", key="g1", actor=clerk_actor, context="counter")
    goodwill.give_points(member, points=100, reason="久等", key="g1", actor=clerk_actor, context="counter")
    with pytest.raises(InvalidInput) as over_grant:
        goodwill.give_points(member, points=101, reason="x", key="g2", actor=clerk_actor, context="counter")
    assert over_grant.value.errors[0].code == "over_limit"
    with pytest.raises(Conflict) as over_day:
        goodwill.give_points(member, points=60, reason="x", key="g3", actor=clerk_actor, context="counter")
    assert over_day.value.errors[0].code == "daily_limit"
    template = coupon_template(threshold=Decimal("0"), per_customer_limit=0)
    goodwill.give_coupon(member, template=template, reason="破损", key="g4", actor=clerk_actor, context="counter")
    with pytest.raises(Conflict):
        goodwill.give_coupon(member, template=template, reason="破损", key="g5", actor=clerk_actor, context="counter")
    assert ledger.balances(member.pk)["points"] == Decimal("100")
    assert Coupon.objects.filter(customer=member).count() == 1
    GoodwillLimit.objects.filter(role=roles.STORE_STAFF).delete()
    with pytest.raises(PermissionDeniedError):
        goodwill.give_points(member, points=1, reason="x", key="g6", actor=clerk_actor, context="counter")
    sales = Actor(user=make_staff(roles.SALES), source=Source.CONSOLE)
    with pytest.raises(PermissionDeniedError):
        goodwill.give_points(member, points=1, reason="x", key="g7", actor=sales, context="counter")
