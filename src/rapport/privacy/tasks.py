"""Scheduled privacy jobs."""

from __future__ import annotations

from celery import shared_task

from rapport.privacy.services import drop_expired_archives


@shared_task(name="rapport.privacy.drop_expired_archives")
def drop_expired_archives_task() -> int:
    return drop_expired_archives()
