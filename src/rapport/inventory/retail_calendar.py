"""The Chinese retail calendar as the forecast sees it: which shopping events touch a period.

A period (a day or a week) carries the set of events that fall in it — its *signature*. The
forecast learns one multiplicative factor per signature from history and divides it out before
fitting, then multiplies it back into the periods ahead (:mod:`rapport.inventory.forecasting`).
The dates of the Spring Festival follow the lunar calendar and are listed, not computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

# First day of the Spring Festival (正月初一).
SPRING_FESTIVAL = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

EVENTS = ("double11_presale", "double11", "618_warmup", "618", "double12", "newyear_goods", "spring_festival")


def events_on(day: dt.date) -> frozenset[str]:
    """The shopping events of one day: 11.11 and its presale, 618 and its warm-up, 双12, the New
    Year goods festival (年货节, the three weeks before the Spring Festival) and the holiday week."""
    found: set[str] = set()
    month, dom = day.month, day.day
    if (month == 10 and dom >= 24) or (month == 11 and dom < 11):
        found.add("double11_presale")
    elif (month, dom) == (11, 11):
        found.add("double11")
    elif month == 6 and dom < 18:
        found.add("618_warmup")
    elif (month, dom) == (6, 18):
        found.add("618")
    elif (month, dom) == (12, 12):
        found.add("double12")
    festival = SPRING_FESTIVAL.get(day.year if month < 7 else day.year + 1)
    if festival is not None:
        until = (festival - day).days
        if 1 <= until <= 21:
            found.add("newyear_goods")
        elif -6 <= until <= 0:
            found.add("spring_festival")
    return frozenset(found)


def signature(start: dt.date, days: int) -> frozenset[str]:
    """The events touching the period of ``days`` days from ``start`` (1 for a day, 7 for a week)."""
    found: set[str] = set()
    for offset in range(days):
        found |= events_on(start + dt.timedelta(days=offset))
    return frozenset(found)


def signatures(starts: Sequence[dt.date], days: int) -> list[frozenset[str]]:
    return [signature(start, days) for start in starts]
