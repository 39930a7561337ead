"""Background work of imports: Celery with a broker, in-process otherwise (see rapport.core.jobs)."""

from __future__ import annotations

from celery import shared_task

from rapport.imports import services


@shared_task(name="rapport.imports.run_import", acks_late=True)
def run_import(job_id: int) -> None:
    services.run_job(job_id)
