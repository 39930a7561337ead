"""Where campaigns' background jobs are started from signals (connected in ``apps.ready``).

The journeys' triggers say who enters; the services say a plan started; the jobs are enqueued
here, after the commit, so neither imports :mod:`rapport.campaigns.tasks`.
"""

from __future__ import annotations

from typing import Any

from rapport.campaigns.journeys import triggers
from rapport.campaigns.tasks import enter_journey, run_plan
from rapport.core.jobs import enqueue


def _enter_later(arrivals: triggers.Arrivals) -> None:
    for plan_ids, entries in arrivals:
        for plan_id in plan_ids:
            enqueue(enter_journey, plan_id, entries)


def on_events_recorded(sender: Any, source: Any = None, messages: Any = (), **kwargs: Any) -> None:
    _enter_later(triggers.arrivals_for_events(messages))


def on_order_saved(
    sender: Any, order: Any = None, created: bool = False, previous_status: str = "", **kwargs: Any
) -> None:
    if order is not None:
        _enter_later(triggers.arrivals_for_order(order, previous_status))


def on_plan_started(sender: Any, plan_id: int, **kwargs: Any) -> None:
    enqueue(run_plan, plan_id)
