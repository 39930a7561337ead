"""Background jobs: Celery workers in production, a thread pool in the embedded default.

``enqueue(task, ...)`` is the only way code starts a job, so the choice of runner stays here.

A long task declares ``resumable`` in its decorator (``@tracked_task(..., resumable=True)``); its
runs are *tracked*: each gets a :class:`~rapport.core.models.BackgroundJob` row, runs
through :func:`run_tracked`, and writes a heartbeat while it works. :func:`watch_jobs` (scheduled
every minute) finds running jobs whose heartbeat stopped, because their worker was killed or the
server restarted: a resumable job (one that continues where it stopped, such as an import after
its last committed chunk) is queued again, up to ``RAPPORT_JOB_MAX_ATTEMPTS`` runs; any other is
marked stalled for a person to retry or cancel. Each run claims its row by attempt number, so a
message Celery redelivers later for a job already finished or running elsewhere does nothing.

Every task of the apps is declared with :func:`tracked_task` (a kind label people read, and
whether it can resume), so each run, however it was started (``enqueue``, Celery beat, ``celery
call``), leaves a record that the jobs page lists with retry and cancel. Only the plumbing named in
:data:`UNTRACKED` runs without one; a test keeps that list honest.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError, OperationalError, close_old_connections, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string

from rapport.core.errors import Conflict
from rapport.core.models import OPEN_STATUSES, RETRYABLE_STATUSES, BackgroundJob, JobStatus

logger = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_current = threading.local()


def _in_process_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        # One worker: SQLite takes one writer at a time, and jobs then run in submission order.
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapport-job")
    return _pool


def stop_in_process_pool() -> None:
    """Stop the embedded default's pool as the server stops, without waiting for its queue: jobs
    not started yet are dropped from it (their records stay queued and the next start hands them
    to its pool, :func:`resume_after_restart`; an untracked follow-up is caught up by its periodic
    run). The interpreter then waits only for the job running now, not for the queue behind it."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _run_in_thread(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    close_old_connections()
    try:
        task.run(*args, **kwargs)
    except Exception:
        logger.exception("background job %s failed", task.name)
    finally:
        close_old_connections()


def _start(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if settings.RAPPORT_JOBS_SYNC:
        task.run(*args, **kwargs)
    elif settings.RAPPORT_JOBS_INPROCESS:
        _in_process_pool().submit(_run_in_thread, task, args, kwargs)
    else:
        task.apply_async(args=args, kwargs=kwargs)


# Tasks that run without a record, and why: the kernel's own runner and watchdog, and follow-ups
# started on every commit of events or orders (a record each would bury the jobs people look at),
# whose tracked periodic counterpart catches up anything a lost run missed.
UNTRACKED = {
    "rapport.jobs.run_tracked": "runs tracked jobs; the record is the job's own",
    "rapport.jobs.watch": "the watchdog of tracked jobs, every minute",
    "rapport.jobs.prune": "deletes old finished job records",
    "rapport.events.resolve": "woken on every tracking commit; staged rows wait in their table",
    "rapport.tags.reevaluate_customers": "after every commit; the hourly automatic-tags run catches up",
    "rapport.analytics.recompute_customers": "after every commit; the daily metrics run catches up",
}


class TrackedTask(Task):
    """A task whose every run has a :class:`BackgroundJob` record. Called by a Celery worker from
    a message nobody recorded (Celery beat, ``celery call``), it records the run first and runs it
    as a tracked job; inside a tracked run, or called with ``.run()``, it is a plain call."""

    resumable = False
    label: str | Promise = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(_current, "job_id", None) is not None:
            return super().__call__(*args, **kwargs)
        job = BackgroundJob.objects.create(task=self.name, args=list(args), kwargs=kwargs, resumable=self.resumable)
        return run_tracked(job.pk)


def tracked_task(*, name: str, label: str | Promise, resumable: bool = False, **options: Any) -> Callable[..., Any]:
    """Declare a task whose runs are recorded: ``label`` names its kind on the jobs page (a lazy
    translation); ``resumable`` says a run after a dead worker continues where the last stopped
    (batched work that skips what is done), so the watchdog queues it again by itself."""
    return shared_task(base=TrackedTask, name=name, label=label, resumable=resumable, acks_late=True, **options)


def is_tracked(task: Any) -> bool:
    return getattr(task, "resumable", None) is not None


def kind_label(task_name: str) -> str:
    """The kind of a job as people read it (in the active language); the task name if unlabelled."""
    label = getattr(_task(task_name), "label", "")
    return str(label) if label else task_name


def _dispatch(job_id: int) -> None:
    from rapport.core.tasks import run_tracked_job

    transaction.on_commit(lambda: _start(run_tracked_job, (job_id,), {}))


def enqueue(task: Any, *args: Any, **kwargs: Any) -> BackgroundJob | None:
    """Start ``task`` after the current transaction commits (so it sees what we wrote); a tracked
    task's record is returned."""
    if not is_tracked(task):
        transaction.on_commit(lambda: _start(task, args, kwargs))
        return None
    job = BackgroundJob.objects.create(task=task.name, args=list(args), kwargs=kwargs, resumable=bool(task.resumable))
    _dispatch(job.pk)
    return job


def cancel_requested() -> bool:
    """Whether someone asked the tracked job running in this thread to stop (a long task checks
    this between chunks); False outside a tracked job."""
    job_id = getattr(_current, "job_id", None)
    return job_id is not None and BackgroundJob.objects.filter(pk=job_id, cancel_requested=True).exists()


class _Heartbeat:
    """A thread that stamps the job's heartbeat every ``RAPPORT_JOB_HEARTBEAT_SECONDS`` while it runs."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"rapport-heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.RAPPORT_JOB_HEARTBEAT_SECONDS):
                try:
                    mine = BackgroundJob.objects.filter(pk=self.job_id, attempts=self.attempt, status=JobStatus.RUNNING)
                    mine.update(heartbeat_at=timezone.now())
                except DatabaseError:  # a busy SQLite: the next beat tries again
                    logger.warning("heartbeat of job %s not written", self.job_id)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _beating(job_id: int, attempt: int) -> Iterator[None]:
    _current.job_id = job_id
    try:
        if settings.RAPPORT_JOBS_SYNC:  # inline in the caller's request: no worker to lose
            yield
        else:
            with _Heartbeat(job_id, attempt):
                yield
    finally:
        _current.job_id = None


# A claim that meets a locked SQLite table waits and tries again, this many times: an in-memory
# shared-cache database (the test suite's) answers a lock at once instead of waiting out the
# timeout, and a claim lost that way would leave the job queued with nobody to run it.
_CLAIM_TRIES = 8


def _claim(job_id: int) -> BackgroundJob | None:
    for attempt in range(_CLAIM_TRIES):
        try:
            return _claim_once(job_id)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == _CLAIM_TRIES - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    return None  # pragma: no cover - the loop returns or raises


def _claim_once(job_id: int) -> BackgroundJob | None:
    """Claim a queued job by moving it to running; the claim is one UPDATE, so trying again is safe."""
    now = timezone.now()
    claimed = BackgroundJob.objects.filter(pk=job_id, status=JobStatus.QUEUED, cancel_requested=False).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        finished_at=None,
    )
    return BackgroundJob.objects.get(pk=job_id) if claimed else None


def _finish(job: BackgroundJob, status: str, error: str = "") -> None:
    BackgroundJob.objects.filter(pk=job.pk, attempts=job.attempts).exclude(status=JobStatus.SUCCEEDED).update(
        status=status, error=error[:2000], finished_at=timezone.now()
    )


def _task(name: str) -> Any:
    """The registered task called ``name``; every app's tasks are loaded first, as a worker does."""
    from celery import current_app

    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks.get(name)


def run_tracked(job_id: int) -> Any:
    """Run one tracked job if it is still queued and return what the task returned: a redelivered
    message for a job that finished, or that another worker claimed, does nothing."""
    job = _claim(job_id)
    if job is None:
        logger.info("job %s is not queued any more; nothing to run", job_id)
        return None
    task = _task(job.task)
    if task is None:
        _finish(job, JobStatus.FAILED, f"no task called {job.task}")
        return None
    with _beating(job.pk, job.attempts):
        try:
            result = task.run(*job.args, **job.kwargs)
        except Exception as exc:
            _finish(job, JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
            if settings.RAPPORT_JOBS_SYNC:
                raise
            logger.exception("background job %s (%s) failed", job.pk, job.task)
            return None
    stopped = BackgroundJob.objects.filter(pk=job.pk, cancel_requested=True).exists()
    _finish(job, JobStatus.CANCELLED if stopped else JobStatus.SUCCEEDED)
    return result


def _last_beat(job: BackgroundJob) -> str:
    return job.heartbeat_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if job.heartbeat_at else "never"


def watch_jobs(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Find running jobs whose heartbeat stopped: queue resumable ones again (within the attempt
    limit), mark the others stalled. Returns how many went each way. Safe to run anywhere, any time."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RAPPORT_JOB_STALL_SECONDS)
    outcome = {"requeued": 0, "stalled": 0}
    for job in BackgroundJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        still_dead = BackgroundJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts, heartbeat_at__lt=cutoff
        )
        why = f"its worker stopped (last heartbeat {_last_beat(job)})"
        if job.resumable and not job.cancel_requested and job.attempts < settings.RAPPORT_JOB_MAX_ATTEMPTS:
            if still_dead.update(status=JobStatus.QUEUED, error=f"{why}; queued again"):
                outcome["requeued"] += 1
                _dispatch(job.pk)
        elif still_dead.update(
            status=JobStatus.CANCELLED if job.cancel_requested else JobStatus.STALLED, error=why, finished_at=now
        ):
            outcome["stalled"] += 1
    return outcome


def retry(job_id: int) -> BackgroundJob:
    """Queue a failed, stalled or cancelled job again (a resumable one continues where it stopped)."""
    with transaction.atomic():
        job = BackgroundJob.objects.select_for_update().get(pk=job_id)
        if job.status not in RETRYABLE_STATUSES:
            raise Conflict.single("status", "not_retryable", f"the job is {job.get_status_display()}")
        job.status, job.cancel_requested, job.error, job.finished_at = JobStatus.QUEUED, False, "", None
        job.save(update_fields=["status", "cancel_requested", "error", "finished_at"])
        _dispatch(job.pk)
    return job


def cancel(job_id: int) -> BackgroundJob:
    """Cancel a queued or stalled job at once; ask a running one to stop (it stops at its next check
    of :func:`cancel_requested`, or finishes and is recorded as cancelled). A task that keeps its own
    record names a function in ``when_cancelled`` (dotted path), called with the job's arguments
    when no run is left to tell it."""
    with transaction.atomic():
        job = BackgroundJob.objects.select_for_update().get(pk=job_id)
        if job.status not in (*OPEN_STATUSES, JobStatus.STALLED):
            raise Conflict.single("status", "finished", f"the job is already {job.get_status_display()}")
        job.cancel_requested = True
        if job.status != JobStatus.RUNNING:
            job.status, job.finished_at = JobStatus.CANCELLED, timezone.now()
        job.save(update_fields=["status", "cancel_requested", "finished_at"])
    if job.status == JobStatus.CANCELLED:
        _tell_task_cancelled(job)
    return job


def _tell_task_cancelled(job: BackgroundJob) -> None:
    hook = getattr(_task(job.task), "when_cancelled", None)
    if hook:
        import_string(hook)(*job.args, **job.kwargs)


def prune_finished(*, now: dt.datetime | None = None) -> int:
    """Delete records of jobs that finished or were cancelled ``RAPPORT_JOB_KEEP_DAYS`` ago; failed
    and stalled ones stay until a person retries or cancels them."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.RAPPORT_JOB_KEEP_DAYS)
    done = BackgroundJob.objects.filter(status__in=[JobStatus.SUCCEEDED, JobStatus.CANCELLED], finished_at__lt=cutoff)
    deleted, _ = done.delete()
    return deleted


def resume_after_restart() -> int:
    """The embedded default's thread pool dies with the server: at start-up its queued jobs are
    handed to the new pool (a job queued twice runs once). Running ones are the watchdog's."""
    queued = list(BackgroundJob.objects.filter(status=JobStatus.QUEUED).values_list("pk", flat=True))
    for job_id in queued:
        _dispatch(job_id)
    return len(queued)
