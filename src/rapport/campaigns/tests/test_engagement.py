"""Condition splits on engagement: opened / clicked / delivered the message of an earlier send
step, optionally within N hours; validation, the engine (resume included) and the per-branch report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from rapport.campaigns import reports, services
from rapport.campaigns.delivery import channels
from rapport.campaigns.journeys import engine
from rapport.campaigns.models import Enrollment, Message, Plan, SiteMessage, SplitDecision, Step
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _smtp_to_outbox(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def journey(make_plan, make_template, split: dict[str, Any], *, channel: str = "email", wait: bool = True) -> Plan:
    """send (1) → [wait 2 days] → split on the send → yes: site "Thanks" / no: site "Reminder"."""
    thanks = make_template("site", subject="Thanks", body="Thanks")
    reminder = make_template("site", subject="Reminder", body="Reminder")
    steps: list[dict[str, Any]] = [
        {"kind": "send", "config": {"channel": channel, "variants": [{"template": make_template(channel).pk}]}}
    ]
    if wait:
        steps.append({"kind": "wait", "config": {"minutes": 2 * 24 * 60}})
    yes, no = len(steps) + 2, len(steps) + 4
    steps += [
        {"kind": "split", "config": {**split, "yes": yes, "no": no}},
        {"kind": "send", "config": {"channel": "site", "variants": [{"template": thanks.pk}]}},
        {"kind": "end"},
        {"kind": "send", "config": {"channel": "site", "variants": [{"template": reminder.pk}]}},
    ]
    return make_plan(kind="journey", segment=None, trigger={"type": "event", "event": "Signed Up"}, steps=steps)


def enter(plan: Plan, customers: list[Any], now: dt.datetime) -> None:
    engine.enroll_entries(plan, [engine.Entry(c.pk, "signup", {}) for c in customers], now=now)
    engine.advance(plan, now=now)
    channels.deliver_due(now=now)


def titles(customer: Any) -> list[str]:
    return list(SiteMessage.objects.filter(customer=customer).values_list("title", flat=True))


def message_of(plan: Plan, customer: Any, position: int = 1) -> Message:
    return Message.objects.get(plan=plan, customer=customer, step__position=position)


def test_send_wait_two_days_then_split_on_opened_routes_each_customer(make_member, make_plan, make_template, launch):
    opener, clicker, silent = make_member(), make_member(), make_member()
    plan = launch(journey(make_plan, make_template, {"engagement": "opened", "send_step": 1}))
    now = timezone.now()
    enter(plan, [opener, clicker, silent], now)
    channels.mark_opened(Message.objects.filter(pk=message_of(plan, opener).pk), now + dt.timedelta(hours=3))
    # A click is an open too (the pixel may be blocked, the link was followed).
    clicked = Message.objects.filter(pk=message_of(plan, clicker).pk)
    channels.mark_opened(clicked, now + dt.timedelta(hours=5))
    clicked.update(clicked_at=now + dt.timedelta(hours=5))

    engine.advance(plan, now=now + dt.timedelta(days=1))
    assert not SplitDecision.objects.exists()  # still waiting the two days
    later = now + dt.timedelta(days=2, minutes=1)
    engine.advance(plan, now=later)
    channels.deliver_due(now=later)

    assert titles(opener) == ["Thanks"] and titles(clicker) == ["Thanks"] and titles(silent) == ["Reminder"]
    assert reports.build(plan).splits == {3: {"yes": 2, "no": 1}}
    assert reports.build(plan).as_dict()["splits"] == [{"step": 3, "yes": 2, "no": 1}]
    assert Enrollment.objects.filter(plan=plan, state=Enrollment.State.DONE).count() == 3


def test_split_on_clicked_counts_clicks_only(make_member, make_plan, make_template, launch):
    opener, clicker = make_member(), make_member()
    plan = launch(journey(make_plan, make_template, {"engagement": "clicked", "send_step": 1}))
    now = timezone.now()
    enter(plan, [opener, clicker], now)
    channels.mark_opened(Message.objects.filter(pk=message_of(plan, opener).pk), now)
    Message.objects.filter(pk=message_of(plan, clicker).pk).update(clicked_at=now)

    engine.advance(plan, now=now + dt.timedelta(days=3))
    channels.deliver_due(now=now + dt.timedelta(days=3))

    assert titles(clicker) == ["Thanks"] and titles(opener) == ["Reminder"]


def test_a_window_holds_the_undecided_until_it_closes_and_ignores_late_opens(
    make_member, make_plan, make_template, launch
):
    early, within, late = make_member(), make_member(), make_member()
    suppressed = make_member(consent=("site",))  # no email consent: its send is suppressed
    plan = launch(
        journey(make_plan, make_template, {"engagement": "opened", "send_step": 1, "within_hours": 24}, wait=False)
    )
    now = timezone.now()
    channels.deliver_due(now=now)
    engine.enroll_entries(plan, [engine.Entry(c.pk, "signup", {}) for c in (early, within, late, suppressed)], now=now)
    engine.advance(plan, now=now)  # the send is planned, not sent yet: everyone waits at the split
    channels.deliver_due(now=now)
    channels.mark_opened(Message.objects.filter(pk=message_of(plan, early).pk), now + dt.timedelta(minutes=5))

    soon = now + dt.timedelta(minutes=10)
    engine.advance(plan, now=soon)
    held = Enrollment.objects.filter(plan=plan, state=Enrollment.State.WAITING, step__kind=Step.Kind.SPLIT)
    assert set(held.values_list("customer_id", flat=True)) == {early.pk, within.pk, late.pk}
    assert held.first().wake_at == message_of(plan, early).sent_at + dt.timedelta(hours=24)
    # The suppressed send (no consent) will never be opened: decided at once.
    assert SplitDecision.objects.get().branch == "no"

    channels.mark_opened(Message.objects.filter(pk=message_of(plan, within).pk), now + dt.timedelta(hours=20))
    channels.mark_opened(Message.objects.filter(pk=message_of(plan, late).pk), now + dt.timedelta(hours=30))
    closed = now + dt.timedelta(hours=31)
    engine.advance(plan, now=closed)
    channels.deliver_due(now=closed)

    assert titles(early) == ["Thanks"] and titles(within) == ["Thanks"]
    assert titles(late) == ["Reminder"] and titles(suppressed) == ["Reminder"]
    assert reports.build(plan).splits == {2: {"yes": 2, "no": 2}}


def test_split_on_delivered_follows_the_gateway_reports(make_member, make_plan, make_template, launch, system_actor):
    delivered, unknown = make_member(), make_member()
    services.save_policy("sms", data={"quiet_start": "", "quiet_end": ""}, actor=system_actor)
    plan = launch(journey(make_plan, make_template, {"engagement": "delivered", "send_step": 1}, channel="sms"))
    now = timezone.now()
    enter(plan, [delivered, unknown], now)
    key = message_of(plan, delivered).key
    assert channels.apply_delivery_reports("sms", [{"id": key, "status": "delivered"}], now=now) == 1

    engine.advance(plan, now=now + dt.timedelta(days=3))
    channels.deliver_due(now=now + dt.timedelta(days=3))

    assert titles(delivered) == ["Thanks"] and titles(unknown) == ["Reminder"]


def test_a_worker_killed_at_the_split_resumes_without_deciding_twice(
    make_member, make_plan, make_template, launch, monkeypatch
):
    customers = [make_member() for _ in range(5)]
    plan = launch(journey(make_plan, make_template, {"engagement": "opened", "send_step": 1}))
    now = timezone.now()
    enter(plan, customers, now)
    for customer in customers[:2]:
        channels.mark_opened(Message.objects.filter(pk=message_of(plan, customer).pk), now)
    monkeypatch.setattr(engine, "CHUNK", 2)
    real = engine._handle_split
    calls = {"n": 0}

    def dies_on_second_chunk(*args: Any) -> None:
        calls["n"] += 1
        real(*args)
        if calls["n"] == 2:
            raise SystemExit("worker killed")

    later = now + dt.timedelta(days=2, minutes=1)
    monkeypatch.setattr(engine, "_HANDLERS", {**engine._HANDLERS, Step.Kind.SPLIT: dies_on_second_chunk})
    with pytest.raises(SystemExit):
        engine.advance(plan, now=later)
    assert SplitDecision.objects.count() == 2  # the first chunk committed, the second rolled back

    monkeypatch.setattr(engine, "_HANDLERS", {**engine._HANDLERS, Step.Kind.SPLIT: real})
    engine.advance(plan, now=later)
    channels.deliver_due(now=later)

    assert SplitDecision.objects.count() == 5
    assert reports.build(plan).splits == {3: {"yes": 2, "no": 3}}
    for customer in customers:
        assert len(titles(customer)) == 1
    assert sorted(t for c in customers for t in titles(c)) == ["Reminder"] * 3 + ["Thanks"] * 2


def test_engagement_split_settings_are_checked_naming_the_field(shanghai, make_template, system_actor):
    email = make_template()

    def save(split: dict[str, Any], first: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        steps = [
            first or {"kind": "send", "config": {"channel": "email", "variants": [{"template": email.pk}]}},
            {"kind": "wait", "config": {"minutes": 60}},
            {"kind": "split", "config": split},
            {"kind": "end"},
        ]
        with pytest.raises(InvalidInput) as refused:
            services.save_plan(data={"name": "x", "segment": shanghai.pk, "steps": steps}, actor=system_actor)
        return [(e.field, e.code) for e in refused.value.errors]

    assert save({"engagement": "opened", "send_step": 9}) == [("steps.2.send_step", "not_found")]
    assert save({"engagement": "opened", "send_step": 4}) == [("steps.2.send_step", "not_found")]
    assert save({"engagement": "opened", "send_step": 2}) == [("steps.2.send_step", "not_found")]
    assert save({"engagement": "opened"}) == [("steps.2.send_step", "not_found")]
    assert save({"engagement": "replied", "send_step": 1}) == [("steps.2.engagement", "invalid")]
    assert save({"engagement": "delivered", "send_step": 1}) == [("steps.2.engagement", "not_reported")]
    assert save({"engagement": "opened", "send_step": 1, "within_hours": 0}) == [("steps.2.within_hours", "invalid")]

    saved = services.save_plan(
        data={
            "name": "ok",
            "segment": shanghai.pk,
            "steps": [
                {"kind": "send", "config": {"channel": "email", "variants": [{"template": email.pk}]}},
                {"kind": "split", "config": {"engagement": "clicked", "send_step": "1", "within_hours": "48"}},
            ],
        },
        actor=system_actor,
    )
    assert saved.steps.get(position=2).config == {
        "engagement": "clicked",
        "send_step": 1,
        "within_hours": 48,
        "yes": None,
        "no": None,
    }


def test_an_engagement_split_costs_the_same_queries_for_ten_or_forty_customers(
    make_member, make_plan, make_template, launch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def split_queries(count: int) -> int:
        plan = launch(journey(make_plan, make_template, {"engagement": "opened", "send_step": 1, "within_hours": 24}))
        now = timezone.now()
        enter(plan, [make_member() for _ in range(count)], now)
        split = plan.steps.get(kind=Step.Kind.SPLIT)
        Enrollment.objects.filter(plan=plan).update(step=split, state=Enrollment.State.ACTIVE, wake_at=None)
        steps = engine.Steps(plan)
        with CaptureQueriesContext(connection) as captured:
            engine._run_chunk(plan, split, steps, now + dt.timedelta(hours=25))
        assert SplitDecision.objects.filter(step=split).count() == count
        return len(captured)

    assert split_queries(10) == split_queries(40)
