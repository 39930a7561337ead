"""The kernel's Celery tasks: the runner of tracked jobs and their watchdog (see rapport.core.jobs)."""

from __future__ import annotations

from celery import shared_task

from rapport.core import jobs


@shared_task(name="rapport.jobs.run_tracked", acks_late=True)
def run_tracked_job(job_id: int) -> None:
    jobs.run_tracked(job_id)


@shared_task(name="rapport.jobs.watch")
def watch_jobs() -> dict[str, int]:
    return jobs.watch_jobs()


@shared_task(name="rapport.jobs.prune")
def prune_jobs() -> int:
    return jobs.prune_finished()
