"""Scheduled privacy jobs."""

from __future__ import annotations

from celery import shared_task

from rapport.privacy.retention import enforce_retention
from rapport.privacy.services import drop_expired_archives


@shared_task(name="rapport.privacy.drop_expired_archives")
def drop_expired_archives_task() -> int:
    return drop_expired_archives()


@shared_task(name="rapport.privacy.enforce_retention")
def enforce_retention_task() -> dict[str, int]:
    return enforce_retention()
