"""Service reports: volume, first-response and resolution times, SLA breach rate, top categories,
per store and per agent, satisfaction (CSAT) per agent, category and month — as numbers for the
API and as Plotly figures for the console's analysis pages.

Durations are wall-clock hours from opening; rows are read once per report as tuples (a year
of a busy shop is tens of thousands of tickets), grouped in Python.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rapport.analytics.charts import embed
from rapport.core.errors import FieldError, InvalidInput
from rapport.service import clock
from rapport.service.models import Category, Survey, Ticket

MAX_DAYS = 731


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(self.start, dt.time(0), dt.UTC),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), dt.UTC),
        )


def parse_period(start: str | None, end: str | None, *, default_days: int = 90) -> Period:
    """A period from ISO dates (either may be missing), or field errors."""
    errors = []
    today = clock.now().date()
    parsed: dict[str, dt.date] = {}
    for name, raw in (("start", start), ("end", end)):
        if raw:
            try:
                parsed[name] = dt.date.fromisoformat(raw)
            except ValueError:
                errors.append(FieldError(name, "invalid", "a date as YYYY-MM-DD"))
    if errors:
        raise InvalidInput(errors)
    last = parsed.get("end", today)
    first = parsed.get("start", last - dt.timedelta(days=default_days - 1))
    if first > last:
        raise InvalidInput.single("start", "after_end", "the start is after the end")
    if (last - first).days > MAX_DAYS:
        raise InvalidInput.single("start", "too_long", f"at most {MAX_DAYS} days")
    return Period(first, last)


def _hours(start: dt.datetime, end: dt.datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 2)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


@dataclass
class Group:
    """Figures for one group of tickets (a store, an agent, a category, or all)."""

    tickets: int = 0
    first_response_hours: list[float | None] = field(default_factory=list)
    resolution_hours: list[float | None] = field(default_factory=list)
    breached: int = 0

    def add(self, first: float | None, resolution: float | None, breached: bool) -> None:
        self.tickets += 1
        self.first_response_hours.append(first)
        self.resolution_hours.append(resolution)
        self.breached += int(breached)

    def summary(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "median_first_response_hours": _median(self.first_response_hours),
            "median_resolution_hours": _median(self.resolution_hours),
            "breach_rate": round(self.breached / self.tickets, 4) if self.tickets else None,
        }


def tickets_in(period: Period, *, category: str | None = None) -> QuerySet[Ticket]:
    start, end = period.bounds
    tickets = Ticket.objects.filter(created_at__gte=start, created_at__lt=end, merged_into__isnull=True)
    if category:
        if category not in Category.values:
            raise InvalidInput.single("category", "invalid", f"one of: {', '.join(Category.values)}")
        tickets = tickets.filter(category=category)
    return tickets


def ticket_report(period: Period, *, category: str | None = None) -> dict[str, Any]:
    """Volume, times and breach rate overall, per category, store, agent and week."""
    rows = tickets_in(period, category=category).values_list(
        "created_at",
        "first_response_at",
        "resolved_at",
        "first_response_breached",
        "resolution_breached",
        "category",
        "store__name",
        "assignee__username",
    )
    overall = Group()
    groups: dict[str, dict[str, Group]] = {"category": defaultdict(Group), "store": defaultdict(Group)}
    groups["agent"] = defaultdict(Group)
    weekly: dict[str, Counter[str]] = defaultdict(Counter)
    for created, first, resolved, first_breach, resolution_breach, cat, store, agent in rows:
        figures = (_hours(created, first), _hours(created, resolved), first_breach or resolution_breach)
        overall.add(*figures)
        groups["category"][cat].add(*figures)
        groups["store"][store or _("Online / no store")].add(*figures)
        groups["agent"][agent or _("Unassigned")].add(*figures)
        week = (created.date() - dt.timedelta(days=created.weekday())).isoformat()
        weekly[week][cat] += 1
    labels = dict(Category.choices)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "category": category,
        "overall": overall.summary(),
        "by_category": {
            key: {"label": str(labels.get(key, key)), **g.summary()} for key, g in _ranked(groups["category"])
        },
        "by_store": {key: g.summary() for key, g in _ranked(groups["store"])},
        "by_agent": {key: g.summary() for key, g in _ranked(groups["agent"])},
        "weekly": {week: dict(counts) for week, counts in sorted(weekly.items())},
    }


def _ranked(groups: dict[str, Group]) -> list[tuple[str, Group]]:
    return sorted(groups.items(), key=lambda item: (-item[1].tickets, item[0]))


def csat_report(period: Period, *, category: str | None = None) -> dict[str, Any]:
    """Average score, share of 4–5 answers and response rate, per agent, category and month."""
    start, end = period.bounds
    surveys = Survey.objects.filter(sent_at__gte=start, sent_at__lt=end)
    if category:
        surveys = surveys.filter(ticket__category=category)
    rows = surveys.values_list("score", "agent__username", "ticket__category", "sent_at")
    scores: dict[str, dict[str, list[int]]] = {"agent": defaultdict(list), "category": defaultdict(list)}
    scores["month"] = defaultdict(list)
    sent = 0
    answered: list[int] = []
    for score, agent, cat, sent_at in rows:
        sent += 1
        if score is None:
            continue
        answered.append(score)
        scores["agent"][agent or _("Unassigned")].append(score)
        scores["category"][cat].append(score)
        scores["month"][sent_at.strftime("%Y-%m")].append(score)

    def summary(values: list[int]) -> dict[str, Any]:
        return {
            "answers": len(values),
            "average": round(statistics.fmean(values), 2) if values else None,
            "satisfied_share": round(sum(v >= 4 for v in values) / len(values), 4) if values else None,
        }

    return {
        "sent": sent,
        "response_rate": round(len(answered) / sent, 4) if sent else None,
        "overall": summary(answered),
        "by_agent": {k: summary(v) for k, v in sorted(scores["agent"].items())},
        "by_category": {
            k: {"label": str(dict(Category.choices).get(k, k)), **summary(v)}
            for k, v in sorted(scores["category"].items())
        },
        "by_month": {k: summary(v) for k, v in sorted(scores["month"].items())},
    }


# Figures ---------------------------------------------------------------------------------------


def _html(figure: go.Figure, element_id: str) -> str:
    figure.update_layout(margin={"l": 40, "r": 10, "t": 40, "b": 40}, height=320, legend={"orientation": "h"})
    return embed(figure, element_id)


def figures(report: dict[str, Any], csat: dict[str, Any]) -> dict[str, str]:
    """The analysis page's charts as embeddable HTML (Plotly's JS is loaded by the page)."""
    labels = dict(Category.choices)
    weeks = list(report["weekly"])
    volume = go.Figure()
    for category in Category.values:
        counts = [report["weekly"][week].get(category, 0) for week in weeks]
        if any(counts):
            volume.add_trace(go.Bar(x=weeks, y=counts, name=str(labels[category])))
    volume.update_layout(barmode="stack", title=_("Tickets per week"))

    stores = report["by_store"]
    per_store = go.Figure(
        [
            go.Bar(x=list(stores), y=[s["tickets"] for s in stores.values()], name=_("Tickets")),
            go.Scatter(
                x=list(stores),
                y=[(s["breach_rate"] or 0) * 100 for s in stores.values()],
                name=_("SLA breach %"),
                yaxis="y2",
                mode="markers+lines",
            ),
        ]
    )
    per_store.update_layout(title=_("Per store"), yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero"})

    agents = report["by_agent"]
    per_agent = go.Figure(
        [
            go.Bar(
                x=list(agents),
                y=[a["median_first_response_hours"] or 0 for a in agents.values()],
                name=_("Median first response (h)"),
            ),
            go.Bar(
                x=list(agents),
                y=[a["median_resolution_hours"] or 0 for a in agents.values()],
                name=_("Median resolution (h)"),
            ),
        ]
    )
    per_agent.update_layout(barmode="group", title=_("Per agent"))

    months = csat["by_month"]
    satisfaction = go.Figure(
        go.Scatter(
            x=list(months), y=[m["average"] for m in months.values()], mode="lines+markers", name=_("Average score")
        )
    )
    satisfaction.update_layout(title=_("Satisfaction (1–5)"), yaxis={"range": [1, 5]})
    return {
        "volume": _html(volume, "chart-volume"),
        "stores": _html(per_store, "chart-stores"),
        "agents": _html(per_agent, "chart-agents"),
        "csat": _html(satisfaction, "chart-csat"),
    }
