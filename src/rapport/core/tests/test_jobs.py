"""Tracked background jobs: their record, heartbeat, watchdog, retry and cancel."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from celery import shared_task
from django.utils import timezone

from rapport.core import jobs
from rapport.core.errors import Conflict
from rapport.core.models import BackgroundJob, JobStatus

RUNS: list[tuple[str, int]] = []


@shared_task(name="rapport.tests.resumable_job", resumable=True)
def resumable_job(n: int) -> None:
    RUNS.append(("resumable", n))


@shared_task(name="rapport.tests.once_only_job", resumable=False)
def once_only_job(n: int) -> None:
    RUNS.append(("once", n))


@shared_task(name="rapport.tests.failing_job", resumable=False)
def failing_job() -> None:
    raise ValueError("the file is gone")


@shared_task(name="rapport.tests.slow_job", resumable=True)
def slow_job(seconds: float) -> None:
    time.sleep(seconds)


@shared_task(name="rapport.tests.untracked_job")
def untracked_job() -> None:
    RUNS.append(("untracked", 0))


@pytest.fixture(autouse=True)
def _fresh_runs() -> None:
    RUNS.clear()


def _dead(job: BackgroundJob, *, attempts: int = 1, minutes: int = 10) -> BackgroundJob:
    """As a job looks whose worker was killed ``minutes`` ago."""
    stamp = timezone.now() - dt.timedelta(minutes=minutes)
    BackgroundJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=attempts, heartbeat_at=stamp, started_at=stamp
    )
    return BackgroundJob.objects.get(pk=job.pk)


def _queued(task: Any, *args: Any) -> BackgroundJob:
    return BackgroundJob.objects.create(task=task.name, args=list(args), resumable=bool(task.resumable))


@pytest.mark.django_db
def test_a_tracked_task_runs_through_its_record(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue(resumable_job, 7)
    assert job is not None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.resumable) == (JobStatus.SUCCEEDED, 1, True)
    assert job.started_at and job.finished_at and job.heartbeat_at
    assert RUNS == [("resumable", 7)]


@pytest.mark.django_db
def test_an_untracked_task_leaves_no_record(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.enqueue(untracked_job) is None
    assert RUNS == [("untracked", 0)]
    assert not BackgroundJob.objects.exists()


@pytest.mark.django_db
def test_a_failing_job_is_recorded_failed_with_its_error(django_capture_on_commit_callbacks: Any) -> None:
    with pytest.raises(ValueError), django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(failing_job)
    job = BackgroundJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.error == "ValueError: the file is gone"


@pytest.mark.django_db
def test_a_redelivered_message_for_a_finished_or_running_job_does_nothing() -> None:
    done = _queued(resumable_job, 1)
    BackgroundJob.objects.filter(pk=done.pk).update(status=JobStatus.SUCCEEDED, attempts=1)
    running = _dead(_queued(resumable_job, 2), minutes=0)
    jobs.run_tracked(done.pk)
    jobs.run_tracked(running.pk)
    assert RUNS == []
    assert BackgroundJob.objects.get(pk=running.pk).attempts == 1


@pytest.mark.django_db
def test_a_claim_that_meets_a_locked_table_waits_and_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-memory shared-cache SQLite answers a lock at once; a claim lost to it would strand the job."""
    from django.db import OperationalError

    job = _queued(once_only_job, 4)
    claim_once, refusals = jobs._claim_once, [OperationalError("database table is locked")] * 2

    def locked_twice(job_id: int) -> BackgroundJob | None:
        if refusals:
            raise refusals.pop()
        return claim_once(job_id)

    monkeypatch.setattr(jobs, "_claim_once", locked_twice)
    jobs.run_tracked(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, RUNS) == (JobStatus.SUCCEEDED, 1, [("once", 4)])


@pytest.mark.django_db
def test_a_claim_fails_at_once_on_any_other_database_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    def gone(job_id: int) -> BackgroundJob | None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(jobs, "_claim_once", gone)
    with pytest.raises(OperationalError, match="server closed"):
        jobs.run_tracked(_queued(once_only_job, 5).pk)
    assert RUNS == []


@pytest.mark.django_db
def test_the_watchdog_queues_a_dead_resumable_job_again_and_it_runs(django_capture_on_commit_callbacks: Any) -> None:
    job = _dead(_queued(resumable_job, 3))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.watch_jobs() == {"requeued": 1, "stalled": 0}
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert RUNS == [("resumable", 3)]


@pytest.mark.django_db
def test_the_watchdog_marks_a_dead_job_stalled_when_it_cannot_resume_or_has_had_its_runs(settings: Any) -> None:
    once = _dead(_queued(once_only_job, 1))
    tired = _dead(_queued(resumable_job, 2), attempts=settings.RAPPORT_JOB_MAX_ATTEMPTS)
    alive = _dead(_queued(resumable_job, 3), minutes=0)
    assert jobs.watch_jobs() == {"requeued": 0, "stalled": 2}
    for job in (once, tired):
        job.refresh_from_db()
        assert job.status == JobStatus.STALLED
        assert job.error.startswith("its worker stopped (last heartbeat ")
        assert job.finished_at is not None
    assert BackgroundJob.objects.get(pk=alive.pk).status == JobStatus.RUNNING
    assert RUNS == []


@pytest.mark.django_db
def test_a_stalled_job_is_retried_by_hand_and_a_finished_one_cannot_be(django_capture_on_commit_callbacks: Any) -> None:
    job = _dead(_queued(once_only_job, 4))
    jobs.watch_jobs()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.retry(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 2, "")
    with pytest.raises(Conflict):
        jobs.retry(job.pk)


@pytest.mark.django_db
def test_cancel_stops_a_queued_job_at_once_and_asks_a_running_one(django_capture_on_commit_callbacks: Any) -> None:
    queued = _queued(once_only_job, 5)
    assert jobs.cancel(queued.pk).status == JobStatus.CANCELLED
    jobs.run_tracked(queued.pk)
    assert RUNS == []
    running = _dead(_queued(resumable_job, 6), minutes=0)
    asked = jobs.cancel(running.pk)
    assert (asked.status, asked.cancel_requested) == (JobStatus.RUNNING, True)
    jobs.watch_jobs(now=timezone.now() + dt.timedelta(hours=1))  # its worker dies: cancelled, not queued again
    assert BackgroundJob.objects.get(pk=running.pk).status == JobStatus.CANCELLED
    with pytest.raises(Conflict):
        jobs.cancel(running.pk)


@pytest.mark.django_db(transaction=True)
def test_a_job_in_the_in_process_pool_beats_while_it_works(settings: Any) -> None:
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    settings.RAPPORT_JOB_HEARTBEAT_SECONDS = 0.1
    job = jobs.enqueue(slow_job, 1.0)
    assert job is not None
    deadline = time.monotonic() + 20
    while BackgroundJob.objects.get(pk=job.pk).status != JobStatus.SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.started_at is not None and job.heartbeat_at is not None
    assert job.heartbeat_at - job.started_at >= dt.timedelta(seconds=0.5)


@pytest.mark.django_db(transaction=True)
def test_stopping_the_pool_leaves_the_jobs_behind_the_running_one_queued_for_the_next_start(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    monkeypatch.setattr(jobs, "_pool", None)  # a pool of this test's own
    running, *waiting = (job.pk for seconds in (2.0, 0.1, 0.1) if (job := jobs.enqueue(slow_job, seconds)))

    def reaches(job_id: int, status: str) -> bool:
        deadline = time.monotonic() + 20
        while BackgroundJob.objects.get(pk=job_id).status != status and time.monotonic() < deadline:
            time.sleep(0.05)
        return BackgroundJob.objects.get(pk=job_id).status == status

    assert reaches(running, JobStatus.RUNNING)
    jobs.stop_in_process_pool()
    assert reaches(running, JobStatus.SUCCEEDED)  # the running one finishes its run
    assert [BackgroundJob.objects.get(pk=pk).status for pk in waiting] == [JobStatus.QUEUED] * 2
    assert jobs.resume_after_restart() == 2  # the next start's pool runs them
    assert all(reaches(pk, JobStatus.SUCCEEDED) for pk in waiting)
    jobs.stop_in_process_pool()
