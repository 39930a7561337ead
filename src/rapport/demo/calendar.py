"""When Chinese shoppers buy: the retail calendar behind the demo shop's order dates.

Daily weights (average 1 over a window) carry the peaks a merchant would recognise: 11.11 and
its presale, 618, Double 12 and December, the New Year goods festival (年货节) before the Spring
Festival and the holiday dip during it, 3.8 and 520, busier weekends, and a growing business.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from rapport.inventory.retail_calendar import SPRING_FESTIVAL


def spring_festival(year: int) -> dt.date:
    """First day of the Spring Festival (正月初一), from the one table the forecasts' retail calendar keeps."""
    return SPRING_FESTIVAL.get(year, dt.date(year, 2, 5))


def is_campaign_day(day: dt.date) -> bool:
    """Days with shop-wide full-reduction offers (满减): 11.11, 618, 12.12 and the goods festival."""
    if (day.month == 11 and day.day <= 11) or (day.month == 6 and day.day <= 18):
        return True
    if day.month == 12 and day.day == 12:
        return True
    festival = spring_festival(day.year if day.month < 7 else day.year + 1)
    return dt.timedelta(days=1) <= festival - day <= dt.timedelta(days=21)


def _shopping_festival_multiplier(month: int, dom: int) -> float:
    """The shopping festivals' pull on a day: 11.11, 618, 12.12, 3.8 and 520 with their warm-ups."""
    if month == 11:
        return {11: 7.0, 12: 1.8}.get(dom, 1.6 if dom < 11 else 1.0)  # before the 11th: presale and warm-up
    if month == 10:
        return 1.25 if dom >= 24 else 1.0  # presale deposits open
    if month == 6:
        return 4.5 if dom == 18 else 1.35 if dom < 18 else 1.0
    if month == 12:
        return 1.25 * (2.6 if dom == 12 else 1.0)  # year end and Christmas gifts
    if (month, dom) == (3, 8):
        return 2.0  # 3.8 女王节
    if (month, dom) == (5, 20):
        return 1.6  # 520
    return 1.0


def _spring_festival_multiplier(day: dt.date) -> float:
    festival = spring_festival(day.year if day.month < 7 else day.year + 1)
    until = (festival - day).days
    if 1 <= until <= 21:
        return 1.45  # 年货节: New Year goods
    if -6 <= until <= 0:
        return 0.35  # the holiday: couriers and shops rest
    if -14 <= until <= -7:
        return 0.8
    return 1.0


def day_multiplier(day: dt.date) -> float:
    """How busy this day is compared with an ordinary weekday, before growth."""
    weight = 1.12 if day.weekday() >= 5 else 0.95
    weight *= _shopping_festival_multiplier(day.month, day.day)
    weight *= _spring_festival_multiplier(day)
    return weight


def daily_weights(
    first: dt.date, days: int, *, growth_from: float = 0.9, growth_to: float = 1.1
) -> npt.NDArray[np.float64]:
    """Weights for ``days`` days from ``first``: seasonality times a linear growth trend."""
    seasonal = np.array([day_multiplier(first + dt.timedelta(days=i)) for i in range(days)])
    trend = np.linspace(growth_from, growth_to, days)
    return seasonal * trend


# Share of each hour of the day (local time) in online orders and in shop tills.
ONLINE_HOURS = (
    3.0,
    1.6,
    0.8,
    0.4,
    0.3,
    0.3,
    0.6,
    1.5,
    2.8,
    3.6,
    4.2,
    4.6,
    5.6,
    5.0,
    4.3,
    4.2,
    4.3,
    4.4,
    4.6,
    5.2,
    6.6,
    7.8,
    7.6,
    5.2,
)
STORE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4.0, 6.5, 8.0, 7.5, 7.5, 8.0, 8.5, 9.0, 9.5, 10.5, 10.0, 7.5, 3.5, 0)
