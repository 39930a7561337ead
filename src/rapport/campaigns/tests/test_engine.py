"""The engine on the real database: entering, moving through steps, guards, exactly-once sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from rapport.campaigns import services
from rapport.campaigns.delivery import channels
from rapport.campaigns.journeys import engine
from rapport.campaigns.models import ChannelPolicy, Enrollment, Message, Plan, SiteMessage, Step
from rapport.customers.consent import set_consent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _smtp_to_outbox(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_one_off_send_reaches_each_consenting_member_once(make_member, make_customer, make_plan, system_actor, launch):
    members = [make_member(name=f"M{i}") for i in range(3)]
    refused = make_member(name="No consent", consent=())
    make_customer(name="Elsewhere", city="北京", email="x@example.com")
    plan = make_plan()

    launch(plan)

    assert plan.status == Plan.Status.COMPLETED
    sent = Message.objects.filter(plan=plan, status=Message.Status.DELIVERED)
    assert sorted(sent.values_list("customer_id", flat=True)) == sorted(m.pk for m in members)
    assert Message.objects.get(plan=plan, customer=refused).reason == Message.Reason.NO_CONSENT
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in members)
    assert "M0" in mail.outbox[0].body or "M" in mail.outbox[0].subject
    assert Enrollment.objects.filter(plan=plan, state=Enrollment.State.DONE).count() == 4


def test_running_again_repeats_nothing(make_member, make_plan, system_actor, launch):
    make_member()
    plan = make_plan(kind="one_off")
    launch(plan)
    services.run_plan(plan)
    services.run_due()
    assert Message.objects.filter(plan=plan).count() == 1
    assert len(mail.outbox) == 1


def test_a_worker_killed_mid_chunk_resumes_without_skipping_or_repeating(
    make_member, make_plan, make_template, system_actor, monkeypatch
):
    customers = [make_member() for _ in range(5)]
    site = make_template("site", subject="Inbox", body="Hi {{ customer.name }}")
    plan = make_plan(
        steps=[
            {"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}},
            {"kind": "send", "config": {"channel": "email", "variants": [{"template": make_template().pk}]}},
        ]
    )
    ChannelPolicy.objects.create(channel="email", daily_cap=5, weekly_cap=10)
    plan.status = Plan.Status.RUNNING
    plan.save()
    engine.enroll(plan, engine.members(plan.segment.rule), entry_key="once", now=timezone.now())
    monkeypatch.setattr(engine, "CHUNK", 2)
    real = engine._handle_send
    calls = {"n": 0}

    def dies_on_third_chunk(*args: Any) -> None:
        calls["n"] += 1
        real(*args)
        if calls["n"] == 3:
            raise SystemExit("worker killed")

    monkeypatch.setattr(engine, "_HANDLERS", {**engine._HANDLERS, Step.Kind.SEND: dies_on_third_chunk})
    with pytest.raises(SystemExit):
        engine.advance(plan)
    assert Message.objects.filter(plan=plan).count() == 4  # two chunks committed, the third rolled back

    monkeypatch.setattr(engine, "_HANDLERS", {**engine._HANDLERS, Step.Kind.SEND: real})
    engine.advance(plan)
    engine.advance(plan)
    for customer in customers:
        assert Message.objects.filter(plan=plan, customer=customer).count() == 2
    assert Enrollment.objects.filter(plan=plan, state=Enrollment.State.DONE).count() == 5


def test_hold_out_group_receives_nothing(make_member, make_plan, system_actor, launch):
    for _ in range(40):
        make_member(consent=("email",))
    plan = make_plan(control_percent=50)
    launch(plan)
    held = Enrollment.objects.filter(plan=plan, state=Enrollment.State.HELD_OUT)
    assert 5 <= held.count() <= 35
    assert not Message.objects.filter(plan=plan, customer_id__in=held.values("customer_id")).exists()
    assert Message.objects.filter(plan=plan).count() == 40 - held.count()


def test_ab_variants_split_the_treated_group_by_weight(make_member, make_plan, make_template, system_actor, launch):
    for _ in range(60):
        make_member(consent=("email",))
    a, b = make_template(subject="A"), make_template(subject="B")
    plan = make_plan(
        steps=[
            {
                "kind": "send",
                "config": {
                    "channel": "email",
                    "variants": [
                        {"key": "A", "template": a.pk, "weight": 50},
                        {"key": "B", "template": b.pk, "weight": 50},
                    ],
                },
            }
        ]
    )
    launch(plan)
    by_variant = {v: Message.objects.filter(plan=plan, variant=v).count() for v in ("A", "B")}
    assert sum(by_variant.values()) == 60 and min(by_variant.values()) >= 10
    assert set(Message.objects.filter(plan=plan, variant="A").values_list("template_id", flat=True)) == {a.pk}


def test_frequency_cap_suppresses_after_the_daily_limit(make_member, make_plan, system_actor, launch):
    make_member(consent=("email",))
    ChannelPolicy.objects.create(channel="email", daily_cap=1, weekly_cap=3)
    first, second = make_plan(), make_plan()
    launch(first)
    launch(second)
    assert Message.objects.get(plan=first).status == Message.Status.DELIVERED
    assert Message.objects.get(plan=second).reason == Message.Reason.FREQUENCY_CAP


def test_de_duplication_group_keeps_a_second_plan_from_repeating(make_member, make_plan, system_actor, launch):
    make_member(consent=("email",))
    ChannelPolicy.objects.create(channel="email", daily_cap=10, weekly_cap=10)
    first, second = make_plan(dedup_group="double-11"), make_plan(dedup_group="double-11")
    launch(first)
    launch(second)
    assert Message.objects.get(plan=second).reason == Message.Reason.DUPLICATE


def test_quiet_hours_hold_sms_until_morning_in_the_store_time_zone(
    make_member, make_plan, make_template, system_actor, store
):
    customer = make_member(store="sh-01")
    sms = make_template("sms", subject="", body="Sale today")
    plan = make_plan(steps=[{"kind": "send", "config": {"channel": "sms", "variants": [{"template": sms.pk}]}}])
    late = dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC)  # 22:30 in Shanghai
    plan.status = Plan.Status.RUNNING
    plan.save()
    engine.enroll(plan, engine.members(plan.segment.rule), entry_key="once", now=late)
    engine.advance(plan, now=late)
    message = Message.objects.get(plan=plan, customer=customer)
    assert message.not_before == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 Shanghai
    assert channels.deliver_due(now=late) == {}


def test_wait_and_split_route_customers_by_rule(make_member, make_plan, make_template, system_actor, launch):
    vip = make_member(name="VIP", gender="female")
    other = make_member(name="Other", gender="male")
    site_a = make_template("site", subject="For her", body="A")
    site_b = make_template("site", subject="For him", body="B")
    plan = make_plan(
        kind="journey",
        trigger={"type": "birthday", "days_before": 0},
        segment=None,
        steps=[
            {"kind": "wait", "config": {"minutes": 60}},
            {
                "kind": "split",
                "config": {
                    "rule": {"type": "profile", "field": "gender", "op": "eq", "value": "female"},
                    "yes": 3,
                    "no": 5,
                },
            },
            {"kind": "send", "config": {"channel": "site", "variants": [{"template": site_a.pk}]}},
            {"kind": "end"},
            {"kind": "send", "config": {"channel": "site", "variants": [{"template": site_b.pk}]}},
        ],
    )
    launch(plan)
    now = timezone.now()
    engine.enroll_entries(plan, [engine.Entry(vip.pk, "t", {}), engine.Entry(other.pk, "t", {})], now=now)
    engine.advance(plan, now=now)
    assert Enrollment.objects.filter(plan=plan, state=Enrollment.State.WAITING).count() == 2
    later = now + dt.timedelta(minutes=61)
    engine.advance(plan, now=later)
    channels.deliver_due(now=later)
    assert list(SiteMessage.objects.filter(customer=vip).values_list("title", flat=True)) == ["For her"]
    assert list(SiteMessage.objects.filter(customer=other).values_list("title", flat=True)) == ["For him"]


def test_withdrawn_consent_between_plans_is_respected(make_member, make_plan, system_actor, launch):
    customer = make_member(consent=("email",))
    set_consent(customer, channel="email", purpose="marketing", granted=False, actor=system_actor)
    plan = make_plan()
    launch(plan)
    assert Message.objects.get(plan=plan).reason == Message.Reason.NO_CONSENT
    assert mail.outbox == []
