"""Scheduled privacy jobs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.privacy.retention import enforce_retention
from rapport.privacy.services import drop_expired_archives


@tracked_task(name="rapport.privacy.drop_expired_archives", label=_("Expired access archives clean-up"))
def drop_expired_archives_task() -> int:
    return drop_expired_archives()


@tracked_task(name="rapport.privacy.enforce_retention", label=_("Retention sweep"))
def enforce_retention_task() -> dict[str, int]:
    return enforce_retention()
