"""Scheduled jobs in the embedded default: Celery beat's schedule, run by a thread in `rapport run`.

In production Celery beat reads ``CELERY_BEAT_SCHEDULE``; without a broker this scheduler reads
the same entries (their ``schedule`` in seconds) and starts each due task through
:func:`rapport.core.jobs.enqueue`, so one schedule serves both ways of running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings

from rapport.core.jobs import enqueue, resume_after_restart

logger = logging.getLogger(__name__)
TICK_SECONDS = 30.0


def _period(entry: Mapping[str, Any]) -> float:
    schedule = entry["schedule"]
    return schedule.total_seconds() if isinstance(schedule, timedelta) else float(schedule)


class InProcessScheduler:
    """Starts each scheduled task once per period, the first run one period after start-up."""

    def __init__(self, schedule: Mapping[str, Mapping[str, Any]], clock: Callable[[], float] = time.monotonic) -> None:
        self.schedule = schedule
        self.clock = clock
        start = clock()
        self.next_run = {name: start + _period(entry) for name, entry in schedule.items()}
        self._stop = threading.Event()

    def run_due(self) -> list[str]:
        """Enqueue the tasks whose time has come; return their schedule names."""
        app = current_app  # the project's Celery app: tasks are named in the schedule, looked up here
        app.loader.import_default_modules()  # registers every app's tasks.py, as a worker does
        now = self.clock()
        started = []
        for name, entry in self.schedule.items():
            if now >= self.next_run[name]:
                self.next_run[name] = now + _period(entry)
                enqueue(app.tasks[entry["task"]], *entry.get("args", ()), **entry.get("kwargs", {}))
                started.append(name)
        return started

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.run_due()
            except Exception:
                logger.exception("in-process scheduler tick failed")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="rapport-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def start_in_process_scheduler() -> InProcessScheduler | None:
    if not settings.RAPPORT_JOBS_INPROCESS:
        return None
    resume_after_restart()
    scheduler = InProcessScheduler(settings.CELERY_BEAT_SCHEDULE)
    scheduler.start()
    return scheduler
