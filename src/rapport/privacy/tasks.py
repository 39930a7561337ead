"""Scheduled privacy jobs."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from rapport.core.actor import Actor
from rapport.core.jobs import tracked_task
from rapport.privacy.retention import enforce_retention
from rapport.privacy.services import drop_expired_archives, perform_erasure, prepare_archive


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


@tracked_task(
    name="rapport.privacy.erase_customer",
    label=_("Erasure of a customer's personal data (erasure request)"),
    resumable=True,
)
def erase_customer(request_id: int, user_id: int | None, source: str, label: str) -> bool:
    """Resumable: the erasure is one transaction, so a run after a dead worker starts it afresh
    and a completed one is not repeated. Recorded in the audit as the person who fulfilled the
    request (``user_id``, ``source``, ``label``: the actor, as a job's arguments can carry it). A
    cancelled run leaves the request ``erasing``: retry the job, fulfil the request again, or
    reject it."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    return perform_erasure(request_id, actor=Actor(user=user, source=source, label=label))
