"""The home dashboard's KPI panel: today and this month so far, each against the same days a
month and a year before (month-on-month, year-on-year), in the shop's time zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.analytics.kpis import Filters, headline, shop_zone
from rapport.console.home import HomePanel, register_home_panel

MEASURES = (
    ("revenue", _("Revenue")),
    ("orders", _("Orders")),
    ("active_customers", _("Buying customers")),
    ("new_customers", _("New customers")),
    ("average_order_value", _("Average order value")),
)


def shifted(day: dt.date, *, months: int = 0, years: int = 0) -> dt.date:
    """The same day ``months``/``years`` earlier, the month's last day where it has fewer days."""
    month_index = day.year * 12 + day.month - 1 - months - 12 * years
    year, month = divmod(month_index, 12)
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month + 1, candidate)
        except ValueError:
            continue
    return dt.date(year, month + 1, min(day.day, 28))


def change(now: Any, before: Any) -> float | None:
    """The change in per cent, or None when there is nothing to compare with."""
    if not before:
        return None
    return round(float((Decimal(now) - Decimal(before)) / Decimal(before) * 100), 1)


def period(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Each measure for ``start``–``end``, with its change against the same days a month and a year before."""
    figures = headline(Filters(start, end))
    month_ago = headline(Filters(shifted(start, months=1), shifted(end, months=1)))
    year_ago = headline(Filters(shifted(start, years=1), shifted(end, years=1)))
    return [
        {
            "key": key,
            "label": label,
            "value": figures[key],
            "mom": change(figures[key], month_ago[key]),
            "yoy": change(figures[key], year_ago[key]),
        }
        for key, label in MEASURES
    ]


def kpi_panel(request: HttpRequest) -> dict[str, Any]:
    today = timezone.now().astimezone(shop_zone()).date()
    return {"periods": [("today", period(today, today)), ("month", period(today.replace(day=1), today))], "day": today}


def register() -> None:
    register_home_panel(
        HomePanel(
            "kpis",
            _("Today and this month"),
            "analytics/home_kpis.html",
            kpi_panel,
            position=10,
            permission="analytics.view_dashboard",
            wide=True,
        )
    )
