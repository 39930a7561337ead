"""Long background jobs as staff see them: the list, and retry or cancel, each audited.

The kernel (:mod:`rapport.core.jobs`) runs, watches and re-queues them; this is the people's side.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core import jobs
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput, NotFound
from rapport.core.models import BackgroundJob, JobStatus

VIEW = "core.view_backgroundjob"
CHANGE = "core.change_backgroundjob"
OPEN = "open"


def listed(status: str = "") -> QuerySet[BackgroundJob]:
    """Newest first; ``open`` is queued, running and stalled (what may need a person)."""
    found = BackgroundJob.objects.order_by("-created_at", "-id")
    if status == OPEN:
        return found.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.STALLED])
    if status:
        if status not in JobStatus.values:
            raise InvalidInput.single("status", "invalid", f"one of: {OPEN}, {', '.join(JobStatus.values)}")
        return found.filter(status=status)
    return found


def get(job_id: int) -> BackgroundJob:
    found = BackgroundJob.objects.filter(pk=job_id).first()
    if found is None:
        raise NotFound.single("job_id", "not_found", "no such job")
    return found


def retry(job: BackgroundJob, *, actor: Actor) -> BackgroundJob:
    done = jobs.retry(job.pk)
    record(actor, AuditEntry.Action.UPDATE, obj=done, changes={"retry": True, "attempts": done.attempts})
    return done


def cancel(job: BackgroundJob, *, actor: Actor) -> BackgroundJob:
    done = jobs.cancel(job.pk)
    record(actor, AuditEntry.Action.UPDATE, obj=done, changes={"cancel": True, "status": done.status})
    return done


def body(job: BackgroundJob) -> dict[str, Any]:
    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": job.pk,
        "task": job.task,
        "kind": jobs.kind_label(job.task),
        "args": job.args,
        "status": job.status,
        "resumable": job.resumable,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "created_at": stamp(job.created_at),
        "started_at": stamp(job.started_at),
        "heartbeat_at": stamp(job.heartbeat_at),
        "finished_at": stamp(job.finished_at),
    }
