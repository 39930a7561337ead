"""Launch estimates against a hand-built audience: every figure is what the engine would then do."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from rapport.campaigns import services
from rapport.campaigns.journeys import reach
from rapport.campaigns.models import ChannelPolicy, EmailSuppression, Message
from rapport.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db

NOON_IN_SHANGHAI = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def audience(make_member: Any, make_customer: Any) -> dict[str, Any]:
    """Five in 上海: one reachable everywhere, one without consent, one without email, one at the
    email cap, one whose email bounced; one more elsewhere."""
    people = {
        "ok": make_member(),
        "no_consent": make_member(consent=()),
        "no_email": make_member(email=None),
        "capped": make_member(),
        "bounced": make_member(),
    }
    make_customer(name="Elsewhere", city="北京", email="far@example.com")
    for _ in range(2):
        Message.objects.create(
            customer=people["capped"],
            channel="email",
            purpose="marketing",
            status=Message.Status.SENT,
            not_before=NOON_IN_SHANGHAI - dt.timedelta(hours=1),
            created_at=NOON_IN_SHANGHAI - dt.timedelta(hours=1),
        )
    EmailSuppression.objects.create(
        address_index=people["bounced"].email_index, evidence="550 no such user", created_at=NOON_IN_SHANGHAI
    )
    ChannelPolicy.objects.create(channel="sms", quiet_start=dt.time(9, 0), quiet_end=dt.time(18, 0))
    return people


@pytest.fixture
def plan(make_plan: Any, make_template: Any, coupon_template: Any) -> Any:
    email, sms = make_template("email"), make_template("sms", subject="")
    return make_plan(
        control_percent=20,
        steps=[
            {"kind": "coupon", "config": {"template": coupon_template.pk}},
            {"kind": "send", "config": {"channel": "email", "variants": [{"template": email.pk}]}},
            {"kind": "points", "config": {"points": 10, "reason": "Thanks"}},
            {"kind": "send", "config": {"channel": "sms", "variants": [{"template": sms.pk}]}},
        ],
    )


@pytest.fixture
def coupon_template(db: Any, system_actor: Any) -> Any:
    from rapport.loyalty.models import CouponTemplate
    from rapport.loyalty.services import coupons

    return coupons.save_template(
        CouponTemplate(name="满199减20", amount_off=Decimal("20.00"), valid_days=30),
        actor=system_actor,
    )


def test_the_estimate_counts_audience_hold_out_and_each_channel_guard(audience, plan, settings):
    settings.RAPPORT_CHANNEL_COSTS = {"sms": "0.045"}
    figures = reach.estimate(plan, now=NOON_IN_SHANGHAI)
    assert (figures.audience, figures.hold_out, figures.treated) == (5, 1, 4)
    email, sms = figures.channels
    assert email.channel == "email"
    assert (email.with_address, email.with_consent, email.reachable) == (4, 4, 2)
    assert (email.frequency_capped, email.duplicates, email.quiet_hours) == (1, 0, 0)
    assert email.messages == 1 and email.cost is None
    assert (sms.with_address, sms.with_consent, sms.reachable, sms.frequency_capped) == (5, 4, 4, 0)
    assert sms.quiet_hours == 4  # noon is inside 09:00–18:00 in 上海
    assert sms.messages == 3 and sms.cost == Decimal("0.14") and figures.total_cost == Decimal("0.14")
    coupon, points = figures.rewards
    assert (coupon.kind, coupon.customers) == ("coupon", 2)  # those the next message (email) can reach
    assert (points.kind, points.customers, points.total_points) == ("points", 4, 40)
    assert figures.messages == 4 and figures.send_minutes == 1
    assert figures.dispatch_per_minute == 5000
    assert figures.finishes_at == NOON_IN_SHANGHAI + dt.timedelta(minutes=1)


def test_the_estimate_costs_the_same_queries_for_any_audience(
    audience, plan, make_member, django_assert_max_num_queries
):
    with django_assert_max_num_queries(9) as small:
        reach.estimate(plan, now=NOON_IN_SHANGHAI)
    for _ in range(10):
        make_member()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert reach.estimate(plan, now=NOON_IN_SHANGHAI).audience == 15


def test_a_running_plan_or_one_without_steps_has_no_launch_estimate(plan, make_plan, launch, shanghai):
    with pytest.raises(Conflict):
        reach.estimate(launch(plan))
    empty = make_plan()
    empty.steps.all().delete()
    with pytest.raises(InvalidInput) as caught:
        services.estimate_launch(empty)
    assert caught.value.errors[0].field == "steps"


def test_quiet_hours_that_no_clock_is_inside_count_nobody(audience, plan):
    """Found by the API fuzzing on PostgreSQL: with quiet hours set but no store (and not the
    default zone) inside them, the condition was an empty ``IN``, which PostgreSQL refused as a
    column of the aggregate."""
    evening_in_shanghai = NOON_IN_SHANGHAI + dt.timedelta(hours=8)  # 20:00, after 09:00–18:00
    sms = reach.estimate(plan, now=evening_in_shanghai).channels[1]
    assert sms.channel == "sms" and sms.quiet_hours == 0 and sms.reachable == 4
