"""Coupon and points steps through the loyalty services, exactly once, and the coupon in the message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.campaigns.models import Enrollment, SiteMessage
from rapport.loyalty.models import Coupon, CouponTemplate
from rapport.loyalty.services import coupons, ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon_template(system_actor):
    return coupons.save_template(
        CouponTemplate(name="¥20 off", amount_off=Decimal("20.00"), valid_days=14, per_customer_limit=1),
        actor=system_actor,
    )


def test_coupon_then_message_shows_the_code_and_points_are_credited_once(
    make_member, make_plan, make_template, coupon_template, launch
):
    customer = make_member()
    note = make_template(
        "site", subject="Your gift", body="Code {{ coupon.code }} for {{ coupon.name }} until {{ coupon.expires_at }}"
    )
    plan = launch(
        make_plan(
            steps=[
                {"kind": "coupon", "config": {"template": coupon_template.pk}},
                {"kind": "points", "config": {"points": 200, "reason": "Welcome back"}},
                {"kind": "send", "config": {"channel": "site", "variants": [{"template": note.pk}]}},
            ]
        )
    )
    coupon = Coupon.objects.get(customer=customer)
    assert SiteMessage.objects.get(customer=customer).body.startswith(f"Code {coupon.code} for ¥20 off until ")
    assert ledger.balances(customer.pk)["points"] == Decimal("200")

    # The same chunk redone (a crash after the loyalty calls, before the commit) gives nothing twice.
    enrollment = Enrollment.objects.get(plan=plan)
    from rapport.campaigns.journeys import rewards

    for step in plan.steps.filter(kind__in=["coupon", "points"]):
        rewards.issue(step, [(enrollment.pk, customer.pk)], now=enrollment.entered_at)
    assert Coupon.objects.filter(customer=customer).count() == 1
    assert ledger.balances(customer.pk)["points"] == Decimal("200")


def test_reward_step_validation_names_the_field(admin_api, shanghai):
    response = admin_api.post(
        "/api/v1/campaigns/plans",
        {
            "name": "Gift",
            "segment": shanghai.pk,
            "steps": [{"kind": "coupon", "config": {"template": 404}}, {"kind": "points", "config": {"points": 0}}],
        },
        content_type="application/json",
    )
    fields = {e["field"] for e in response.json()["errors"]}
    assert response.status_code == 422 and {"steps.0.template", "steps.1.points"} <= fields


def test_coupon_expiring_trigger(make_member, make_plan, make_template, coupon_template, launch, system_actor):
    from rapport.campaigns.journeys import triggers

    customer = make_member()
    coupon = coupons.issue(coupon_template, customer, key="gift", actor=system_actor)
    site = make_template("site", subject="Use it", body="Your coupon {{ customer.name }}")
    plan = launch(
        make_plan(
            kind="journey",
            segment=None,
            trigger={"type": "coupon_expiring", "days_before": 14},
            steps=[
                {
                    "kind": "send",
                    "config": {"channel": "site", "purpose": "service", "variants": [{"template": site.pk}]},
                }
            ],
        )
    )
    triggers.scan_all(now=coupon.valid_until - dt.timedelta(days=14))
    triggers.scan_all(now=coupon.valid_until - dt.timedelta(days=14))
    assert Enrollment.objects.filter(plan=plan, entry_key=f"coupon:{coupon.pk}").count() == 1


def _coupon_then_email(make_plan, make_template, coupon_template, **coupon_config):
    email = make_template("email", subject="A gift", body="Code {{ coupon.code }}")
    return make_plan(
        steps=[
            {"kind": "coupon", "config": {"template": coupon_template.pk, **coupon_config}},
            {"kind": "send", "config": {"channel": "email", "variants": [{"template": email.pk}]}},
        ]
    )


def test_a_coupon_step_issues_only_to_those_the_plans_message_can_reach_by_default(
    make_member, make_plan, make_template, coupon_template, launch
):
    told = make_member(consent=("email",))
    no_consent = make_member(consent=())
    no_address = make_member(consent=("email",), email="")
    launch(_coupon_then_email(make_plan, make_template, coupon_template))
    assert list(Coupon.objects.values_list("customer_id", flat=True)) == [told.pk]
    assert not Coupon.objects.filter(customer__in=[no_consent, no_address]).exists()


def test_a_coupon_step_may_issue_to_everyone(make_member, make_plan, make_template, coupon_template, launch):
    members = {make_member(consent=("email",)).pk, make_member(consent=()).pk, make_member(email="").pk}
    launch(_coupon_then_email(make_plan, make_template, coupon_template, audience="everyone"))
    assert set(Coupon.objects.values_list("customer_id", flat=True)) == members


def test_the_coupon_audience_is_checked_and_offered_in_the_builder(admin_api, shanghai, coupon_template):
    from rapport.campaigns.journeys import rewards

    response = admin_api.post(
        "/api/v1/campaigns/plans",
        {
            "name": "Gift",
            "segment": shanghai.pk,
            "steps": [{"kind": "coupon", "config": {"template": coupon_template.pk, "audience": "someone"}}],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"steps.0.audience"}
    offered = {spec["name"]: spec for spec in rewards.catalogue()["coupon"]}
    assert [c["value"] for c in offered["audience"]["choices"]] == ["reachable", "everyone"]
