"""Background work of the customers domain."""

from __future__ import annotations

import logging

from celery import shared_task

from rapport.customers import merge

logger = logging.getLogger(__name__)


@shared_task(name="rapport.customers.scan_weak_matches")
def scan_weak_matches() -> int:
    """Queue the weak matches among all customers (daily, and when staff ask from the queue)."""
    created = merge.scan_weak_matches()
    logger.info("weak-match scan: %d new merge suggestions", created)
    return created
