"""Background jobs: Celery workers in production, a thread pool in the embedded default.

``enqueue(task, ...)`` is the only way code starts a job, so the choice of runner stays here.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None


def _in_process_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        # One worker: SQLite takes one writer at a time, and jobs then run in submission order.
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapport-job")
    return _pool


def _run_in_thread(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    close_old_connections()
    try:
        task.run(*args, **kwargs)
    except Exception:
        logger.exception("background job %s failed", task.name)
    finally:
        close_old_connections()


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Start ``task`` after the current transaction commits (so it sees what we wrote)."""

    def start() -> None:
        if settings.RAPPORT_JOBS_SYNC:
            task.run(*args, **kwargs)
        elif settings.RAPPORT_JOBS_INPROCESS:
            _in_process_pool().submit(_run_in_thread, task, args, kwargs)
        else:
            task.apply_async(args=args, kwargs=kwargs)

    transaction.on_commit(start)
