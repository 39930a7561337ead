"""The in-process scheduler starts each scheduled task once per period."""

from __future__ import annotations

import pytest

from rapport.core.schedule import InProcessScheduler

pytestmark = pytest.mark.django_db


def test_tasks_run_when_due_and_not_before():
    now = [1000.0]
    scheduler = InProcessScheduler(
        {"maintain": {"task": "rapport.events.maintain", "schedule": 60.0}}, clock=lambda: now[0]
    )
    assert scheduler.run_due() == []
    now[0] += 61
    assert scheduler.run_due() == ["maintain"]
    assert scheduler.run_due() == []
    now[0] += 61
    assert scheduler.run_due() == ["maintain"]
