"""SLA timers with controlled time: business hours per store, pausing while pending customer,
warnings before a breach and escalation on one, by the scheduled check."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.core.actor import Actor, Source
from rapport.customers import services as customer_services
from rapport.service import services, sla, tasks
from rapport.service.models import BusinessHours, SlaPolicy, Status

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in March 2026, Shanghai time (2 March is a Monday)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def weekday_hours(db):
    for weekday in range(5):
        BusinessHours.objects.create(weekday=weekday, opens=dt.time(9), closes=dt.time(18))


@pytest.fixture
def policy(db):
    return SlaPolicy.objects.create(
        priority="normal", first_response_minutes=60, resolution_minutes=8 * 60, warn_before_minutes=15
    )


def test_deadlines_skip_nights_and_weekends(weekday_hours):
    hours = sla.hours_for(None)
    friday_evening = _at(6, 17, 30)
    assert sla.add_business_minutes(friday_evening, 60, hours) == _at(9, 9, 30)
    assert sla.add_business_minutes(_at(7, 12), 30, hours) == _at(9, 9, 30)  # Saturday → Monday
    assert sla.business_minutes_between(_at(6, 17), _at(9, 10), hours) == 120


def test_a_store_keeps_its_own_hours_in_its_own_time_zone(weekday_hours, system_actor):
    london = customer_services.create_store(
        data={"code": "ldn", "name": "London", "time_zone": "Europe/London"}, actor=system_actor
    )
    BusinessHours.objects.create(store=london, weekday=0, opens=dt.time(10), closes=dt.time(16))
    hours = sla.hours_for(london)
    monday_9_london = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert sla.add_business_minutes(monday_9_london, 60, hours) == dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC)
    # Tuesday has no hours in London: the clock runs on the next Monday
    assert sla.add_business_minutes(dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC), 120, hours) == dt.datetime(
        2026, 3, 9, 11, tzinfo=dt.UTC
    )


def test_no_hours_at_all_means_around_the_clock():
    hours = sla.Hours(dt.UTC, None)
    start = dt.datetime(2026, 3, 7, 23, tzinfo=dt.UTC)
    assert sla.add_business_minutes(start, 90, hours) == start + dt.timedelta(minutes=90)


def test_ticket_deadlines_follow_the_priority_policy(weekday_hours, policy, customer, make_ticket, frozen):
    frozen.set(_at(2, 17))
    ticket = make_ticket(customer)
    assert ticket.first_response_due == _at(2, 18)
    assert ticket.resolution_due == _at(3, 16)


def test_the_resolution_clock_pauses_while_pending_customer(
    weekday_hours, policy, customer, agent_actor, make_ticket, frozen
):
    frozen.set(_at(2, 9))
    ticket = make_ticket(customer)
    assert ticket.resolution_due == _at(2, 17)
    frozen.set(_at(2, 10))
    services.reply(ticket, body="请提供订单号", actor=agent_actor)  # pending from 10:00
    frozen.set(_at(3, 11))  # the customer answers the next day at 11:00: 8 + 2 business hours paused
    services.customer_message(ticket, body="订单号 1001", actor=Actor(source=Source.CUSTOMER))
    ticket.refresh_from_db()
    assert ticket.paused_minutes == 600
    assert ticket.resolution_due == _at(3, 18)  # one hour worked before the pause, seven after 11:00


def test_scheduled_check_warns_then_escalates_to_the_lead(
    weekday_hours, policy, customer, agent, make_agent, make_ticket, frozen
):
    lead = make_agent("zhang.lead", is_lead=True, is_available=True, email="lead@shop.example")
    frozen.set(_at(2, 9))
    ticket = make_ticket(customer, assignee=agent)
    assert ticket.first_response_due == _at(2, 10)

    frozen.set(_at(2, 9, 40))
    assert tasks.check_sla() == {"warned": 0, "breached": 0, "escalated": 0}
    frozen.set(_at(2, 9, 46))
    assert tasks.check_sla()["warned"] == 1
    assert mail.outbox[-1].to == ["li.na@shop.example"]
    assert tasks.check_sla()["warned"] == 0  # warned once

    frozen.set(_at(2, 10, 1))
    assert tasks.check_sla() == {"warned": 0, "breached": 1, "escalated": 1}
    ticket.refresh_from_db()
    assert ticket.first_response_breached and ticket.assignee == lead and ticket.escalated_at == frozen()
    assert mail.outbox[-1].to == ["lead@shop.example"] and "breached" in mail.outbox[-1].subject
    assert tasks.check_sla()["breached"] == 0  # breached once
    actions = list(ticket.events.values_list("action", flat=True))
    assert actions[-3:] == ["sla_warning", "sla_breached", "escalated"]


def test_pending_tickets_do_not_breach(weekday_hours, policy, customer, agent_actor, make_ticket, frozen):
    frozen.set(_at(2, 9))
    ticket = make_ticket(customer)
    services.reply(ticket, body="请提供照片", actor=agent_actor)
    frozen.set(_at(20, 9))
    assert tasks.check_sla()["breached"] == 0
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and not ticket.resolution_breached


def test_resolved_tickets_close_after_a_week(customer, agent_actor, make_ticket, frozen):
    ticket = make_ticket(customer)
    services.change_status(ticket, status="resolved", actor=agent_actor)
    frozen.advance(days=8)
    assert tasks.close_resolved() == {"closed": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31)),
    minutes=st.integers(min_value=0, max_value=3000),  # within two years of even one hour a week
    days=st.sets(st.integers(min_value=0, max_value=6), min_size=1),
    opens=st.integers(min_value=0, max_value=11),
    length=st.integers(min_value=1, max_value=12),
)
def test_adding_business_minutes_then_counting_them_gives_them_back(start, minutes, days, opens, length):
    tz = ZoneInfo("Asia/Shanghai")
    hours = sla.Hours(tz, {d: (dt.time(opens), dt.time(opens + length)) for d in days})
    begin = start.replace(tzinfo=dt.UTC)
    due = sla.add_business_minutes(begin, minutes, hours)
    assert due >= begin
    assert sla.business_minutes_between(begin, due, hours) == minutes
    if minutes:  # the deadline falls inside opening hours
        local = due.astimezone(tz)
        window = hours.window(local.date())
        assert window is not None and window[0] < local <= window[1]


def test_sla_notices_without_smtp_go_through_the_delivery_path_and_log_no_address_or_body(
    weekday_hours, policy, customer, make_agent, make_ticket, frozen, settings, caplog, capsys, tmp_path
):
    from rapport.campaigns.models import Message

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.EMAIL_HOST = ""
    settings.RAPPORT_OUTBOX_DIR = tmp_path
    lead = make_agent("wu.lead", is_lead=True, email="wu.lead@shop.example")
    frozen.set(_at(2, 9))
    ticket = make_ticket(customer, assignee=lead, subject="发票抬头写错了")
    frozen.set(_at(2, 10, 1))
    with caplog.at_level("INFO"):
        assert tasks.check_sla()["escalated"] == 1
    logged = caplog.text + capsys.readouterr().out
    assert "wu.lead@shop.example" not in logged and "发票抬头写错了" not in logged
    notice = Message.objects.get(channel="staff", reference=ticket.number)
    assert notice.status == Message.Status.SENT and notice.customer_id is None
    assert "wu.lead@shop.example" in (tmp_path / f"{notice.key}.txt").read_text()
