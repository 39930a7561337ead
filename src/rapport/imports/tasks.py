"""Background work of imports: Celery with a broker, in-process otherwise (see rapport.core.jobs)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.imports import services


@tracked_task(
    name="rapport.imports.run_import",
    label=_("Import"),
    resumable=True,
    when_cancelled="rapport.imports.services.close_cancelled_run",
)
def run_import(job_id: int) -> None:
    """Resumable: a run after a dead worker continues after the last committed chunk."""
    services.run_job(job_id)


@tracked_task(name="rapport.imports.purge_reports", label=_("Old import reports clean-up"))
def purge_reports() -> int:
    """Reports of finished jobs are kept ``RAPPORT_IMPORT_REPORT_DAYS`` days, then deleted."""
    return services.purge_reports()
