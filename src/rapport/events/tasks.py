"""Daily upkeep of the events table: next months' partitions, then retention."""

from __future__ import annotations

import logging

from celery import shared_task

from rapport.events import services

logger = logging.getLogger(__name__)


@shared_task(name="rapport.events.maintain")
def maintain_events() -> dict[str, int]:
    services.prepare_partitions()
    purged = services.purge_expired()
    logger.info("events maintenance: %s", purged)
    return purged
