"""Scheduled privacy jobs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.privacy.retention import enforce_retention
from rapport.privacy.services import drop_expired_archives, prepare_archive


@tracked_task(name="rapport.privacy.drop_expired_archives", label=_("Expired access archives clean-up"))
def drop_expired_archives_task() -> int:
    return drop_expired_archives()


@tracked_task(name="rapport.privacy.enforce_retention", label=_("Retention sweep"))
def enforce_retention_task() -> dict[str, int]:
    return enforce_retention()


@tracked_task(
    name="rapport.privacy.build_access_archive",
    label=_("Copy of a customer's data (access request)"),
    resumable=True,
)
def build_access_archive(request_id: int) -> bool:
    """Resumable: a run after a dead worker builds the copy afresh; it is stored once. A cancelled
    run leaves the request ``preparing``: retry the job, fulfil the request again, or reject it."""
    return prepare_archive(request_id)
