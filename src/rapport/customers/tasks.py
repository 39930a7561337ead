"""Background work of the customers domain."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.customers import merge

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.customers.scan_weak_matches", label=_("Duplicate-customer scan"))
def scan_weak_matches() -> int:
    """Queue the weak matches among all customers (daily, and when staff ask from the queue)."""
    created = merge.scan_weak_matches()
    logger.info("weak-match scan: %d new merge suggestions", created)
    return created
