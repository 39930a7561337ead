"""Background work of the events domain: resolving staged messages, and daily table upkeep."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.events import resolver, services

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.events.maintain", label=_("Event partitions and retention"))
def maintain_events() -> dict[str, int]:
    services.prepare_partitions()
    purged = services.purge_expired()
    logger.info("events maintenance: %s", purged)
    return purged


@shared_task(name="rapport.events.resolve")
def resolve_events() -> int:
    """Resolve every staged message (woken by the tracking API; chunks run one at a time)."""
    return resolver.resolve_pending()
