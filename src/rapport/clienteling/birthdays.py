"""Whose birthday is on a given day: by the Gregorian calendar, or by the Chinese one (农历) for
customers marked so — as a condition on the birthday column, so the daily job stays set-based.

Lunar rules (lunardate does the calendar arithmetic, 1900–2099): a customer born in a leap month
(闰月) celebrates in the ordinary month of that number; one born on the 30th celebrates on the 29th
in a year when that month has 29 days. A Gregorian 29 February birthday falls on 28 February in a
common year.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db.models import Q
from lunardate import LunarDate

FIRST_YEAR = 1900
LAST_YEAR = 2099


def _solar(year: int, month: int, day: int, leap: bool = False) -> dt.date | None:
    try:
        return LunarDate(year, month, day, leap).to_solar_date()
    except ValueError:  # no such day (a 29-day month's 30th, a month that is not leap that year)
        return None


def lunar_birthday_in(birth: dt.date, lunar_year: int) -> dt.date | None:
    """The Gregorian day on which someone born on ``birth`` celebrates in lunar year ``lunar_year``."""
    born = LunarDate.from_solar_date(birth.year, birth.month, birth.day)
    return _solar(lunar_year, born.month, born.day) or _solar(lunar_year, born.month, 29)


def lunar_birth_dates_on(day: dt.date) -> list[dt.date]:
    """Every Gregorian birth date (up to ``day``) whose lunar birthday is celebrated on ``day``."""
    today = LunarDate.from_solar_date(day.year, day.month, day.day)
    if today.isLeapMonth:
        return []  # leap-month births celebrate in the ordinary month
    days = [today.day]
    if today.day == 29 and _solar(today.year, today.month, 30) is None:
        days.append(30)  # this month has no 30th: the 30th's birthdays are today
    births = []
    for year in range(FIRST_YEAR, min(today.year, LAST_YEAR) + 1):
        for lunar_day in days:
            for leap in (False, True):
                born = _solar(year, today.month, lunar_day, leap)
                if born is not None and born <= day:
                    births.append(born)
    return births


def gregorian_birthday_q(day: dt.date) -> Q:
    """Customers whose Gregorian birthday is ``day`` (29 February falls on the 28th in a common year)."""
    on_day = Q(birthday__month=day.month, birthday__day=day.day)
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        on_day |= Q(birthday__month=2, birthday__day=29)
    return on_day


def birthday_q(day: dt.date) -> Q:
    """Customers whose birthday, by the calendar they keep, is ``day``."""
    gregorian = Q(lunar_birthday=False) & gregorian_birthday_q(day)
    lunar = Q(lunar_birthday=True, birthday__in=lunar_birth_dates_on(day))
    return Q(birthday__isnull=False) & (gregorian | lunar)
