"""Care reminders over a real database: birthdays by the Gregorian or the lunar calendar (农历: a leap
month counts as the ordinary one, a 30th falls on the 29th of a 29-day month; table and property
tests across years), the daily job per owner for every reason (a rerun adds none), done and snooze."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from lunardate import LunarDate

from rapport.accounts import roles
from rapport.analytics.models import CustomerMetrics
from rapport.clienteling import alerts, birthdays, reminders
from rapport.clienteling.models import Reminder, ReminderStatus
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import Coupon
from rapport.loyalty.services import coupons
from rapport.loyalty.tests.factories import coupon_template
from rapport.service.models import Ticket

D = dt.date


@pytest.mark.parametrize(
    ("born", "lunar_year", "celebrated"),
    [
        (D(2000, 2, 5), 2024, D(2024, 2, 10)),  # 正月初一: Chinese New Year each year
        (D(2000, 2, 5), 2025, D(2025, 1, 29)),
        (D(2000, 2, 5), 2026, D(2026, 2, 17)),
        (D(2023, 4, 1), 2024, D(2024, 3, 20)),  # 闰二月十一 (2023) → 二月十一
        (LunarDate(2022, 12, 30).to_solar_date(), 2024, D(2025, 1, 28)),  # 腊月三十 → 廿九 (no 30th in 2024's 腊月)
        (LunarDate(2022, 12, 30).to_solar_date(), 2023, LunarDate(2023, 12, 30).to_solar_date()),
    ],
)
def test_lunar_birthdays_table(born, lunar_year, celebrated):
    assert birthdays.lunar_birthday_in(born, lunar_year) == celebrated
    assert born in birthdays.lunar_birth_dates_on(celebrated)


def test_no_lunar_birthday_falls_in_a_leap_month():
    assert birthdays.lunar_birth_dates_on(D(2023, 4, 1)) == []  # 闰二月


# From the lunar year after the birth on: in the year of birth itself, someone born in a leap month
# (2034-01-01 is in 2033's 闰十一月) was born after that year's ordinary month had passed.
@settings(max_examples=60, deadline=None)
@given(born=st.dates(D(1901, 3, 1), D(2040, 12, 31)), years_later=st.integers(1, 50))
def test_a_lunar_birthday_is_celebrated_on_exactly_one_day_a_lunar_year(born, years_later):
    lunar_year = LunarDate.from_solar_date(born.year, born.month, born.day).year + years_later
    day = birthdays.lunar_birthday_in(born, lunar_year)
    assert day is not None and day >= born
    assert born in birthdays.lunar_birth_dates_on(day)
    for other in (day - dt.timedelta(days=1), day + dt.timedelta(days=1)):
        assert born not in birthdays.lunar_birth_dates_on(other)


@pytest.mark.parametrize(
    ("born", "day", "expected"),
    [
        (D(1990, 2, 28), D(2027, 2, 28), True),
        (D(1992, 2, 29), D(2027, 2, 28), True),
        (D(1992, 2, 29), D(2028, 2, 28), False),
    ],
)
def test_gregorian_29_february_falls_on_the_28th_in_a_common_year(born, day, expected, make_customer):
    customer = make_customer(birthday=born.isoformat())
    assert Customer.objects.filter(birthdays.birthday_q(day), pk=customer.pk).exists() is expected


@pytest.fixture
def seller(make_staff):
    return make_staff(roles.SALES)


@pytest.mark.django_db
def test_the_daily_job_makes_each_owners_reminders_once(seller, make_customer, make_staff, system_actor):
    today = D(2026, 12, 7)
    lunar_today = LunarDate.from_solar_date(2026, 12, 7)
    lunar_born = LunarDate(1991, lunar_today.month, lunar_today.day).to_solar_date()
    assert (lunar_born.month, lunar_born.day) != (12, 7)
    greg = make_customer(name="Gao", owner=seller.pk, birthday="1985-12-07")
    lunar = make_customer(name="Lin", owner=seller.pk, birthday=lunar_born.isoformat(), lunar_birthday=True)
    not_lunar = make_customer(name="Ma", owner=seller.pk, birthday=lunar_born.isoformat())
    anniversary = make_customer(name="Qian", owner=seller.pk, registered_at="2023-12-07T03:00:00+00:00")
    holder = make_customer(name="Sun", owner=seller.pk)
    coupon = coupons.issue(coupon_template(threshold=Decimal("0")), holder, key="k", actor=system_actor)
    Coupon.objects.filter(pk=coupon.pk).update(valid_until=dt.datetime(2026, 12, 10, 12, tzinfo=dt.UTC))
    due = make_customer(name="Tang", owner=seller.pk)
    quiet = make_customer(name="Wu", owner=seller.pk)
    now = timezone.now()
    CustomerMetrics.objects.create(
        customer=due, computed_at=now, lifecycle_stage="active", expected_next_order_on=D(2026, 12, 6)
    )
    CustomerMetrics.objects.create(
        customer=quiet,
        computed_at=now,
        lifecycle_stage="active",
        value_tier="high",
        last_order_at=dt.datetime(2026, 10, 8, 9, tzinfo=dt.UTC),
    )
    unhappy = make_customer(name="Xu", owner=seller.pk)
    opened = dt.datetime(2026, 12, 6, 8, tzinfo=dt.UTC)
    Ticket.objects.create(
        subject="破损", category="complaint", channel="phone", customer=unhappy, created_at=opened, updated_at=opened
    )
    make_customer(name="Nobody's", birthday="1985-12-07")  # no owner: on nobody's list

    made = reminders.make_reminders(today)
    assert made == {
        "birthday": 2,
        "anniversary": 1,
        "points": 0,
        "coupon": 1,
        "next_order": 1,
        "quiet": 1,
        "level": 0,
    }
    assert alerts.alert_owners(now=dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC))["made"] == 1  # as it happened
    listed = {(r.customer_id, r.reason) for r in reminders.todays_list(seller, today)}
    assert listed == {
        (greg.pk, "birthday"),
        (lunar.pk, "birthday"),
        (anniversary.pk, "anniversary"),
        (holder.pk, "coupon"),
        (due.pk, "next_order"),
        (quiet.pk, "quiet"),
        (unhappy.pk, "complaint"),
    }
    assert not_lunar.pk not in {c for c, _r in listed}
    assert Reminder.objects.get(customer=anniversary).detail == "3"
    assert sum(reminders.make_reminders(today).values()) == 0  # a rerun adds none
    assert reminders.todays_list(make_staff(roles.SALES), today).count() == 0


@pytest.mark.django_db
def test_done_and_snooze(seller, make_customer):
    customer = make_customer(name="Zhou Min", owner=seller.pk, birthday="1990-12-07")
    today = D(2026, 12, 7)
    reminders.make_reminders(today)
    reminder = Reminder.objects.get()
    assert "Zhou Min" in reminders.suggested_message(reminder)
    actor = Actor(user=seller, source=Source.CONSOLE)
    with pytest.raises(InvalidInput):
        reminders.snooze(reminder, days="0", today=today, actor=actor)
    reminders.snooze(reminder, days="2", today=today, actor=actor)
    assert not reminders.todays_list(seller, today).exists()
    assert reminders.todays_list(seller, today + dt.timedelta(days=2)).get() == reminder
    reminders.mark_done(reminder, actor=actor)
    assert Reminder.objects.get().status == ReminderStatus.DONE and customer.pk == reminder.customer_id
    with pytest.raises(Conflict):
        reminders.mark_done(reminder, actor=actor)


@pytest.mark.django_db
def test_a_level_the_review_would_lower_in_two_weeks_is_a_reminder_once(seller, make_customer, system_actor):
    from rapport.commerce import services as commerce
    from rapport.loyalty.models import Level, Membership

    silver = Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"), keep_threshold=Decimal("300"))
    today = D(2026, 12, 7)
    noon_in_two_weeks = dt.datetime(2026, 12, 21, 12, tzinfo=dt.UTC)
    leaving = make_customer(name="Leaving", owner=seller.pk)
    staying = make_customer(name="Staying", owner=seller.pk)
    for number, (customer, placed) in enumerate(
        [
            (leaving, noon_in_two_weeks - dt.timedelta(days=365, hours=6)),  # leaves the year's window on day 14
            (staying, noon_in_two_weeks - dt.timedelta(days=300)),
        ]
    ):
        commerce.upsert_order(
            data={
                "channel": "web",
                "external_id": f"level-{number}",
                "customer_id": customer.pk,
                "status": "paid",
                "placed_at": placed.isoformat(),
                "lines": [{"sku": "GIFT", "name": "Gift box", "quantity": 1, "unit_price": "400"}],
            },
            actor=system_actor,
        )
        Membership.objects.update_or_create(customer=customer, defaults={"level": silver, "growth": Decimal("400")})

    made = reminders.make_reminders(today)
    assert made["level"] == 1
    reminder = Reminder.objects.get(reason="level")
    assert (reminder.customer_id, reminder.detail) == (leaving.pk, "Silver")
    assert "Silver" in reminders.suggested_message(reminder)
    assert reminders.make_reminders(today + dt.timedelta(days=1))["level"] == 0  # once, not every day after
