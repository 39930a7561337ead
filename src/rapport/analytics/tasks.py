"""Background jobs for analytics: the daily full metrics run and the incremental one."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from rapport.analytics import metrics
from rapport.core.jobs import tracked_task

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.analytics.recompute_metrics", label=_("Customer metrics and models (CLV, churn)"))
def recompute_metrics() -> dict[str, float]:
    """The scheduled run: refit the models and rewrite every customer's metrics."""
    result = metrics.recompute_all()
    logger.info("customer metrics recomputed: %s", result)
    return {"customers": result.customers, "buyers": result.buyers, "seconds": result.seconds}


@shared_task(name="rapport.analytics.recompute_customers")
def recompute_customers(customer_ids: list[int]) -> dict[str, float]:
    """The incremental path: metrics of customers whose orders or profile just changed."""
    result = metrics.recompute_customers(customer_ids)
    return {"customers": result.customers, "buyers": result.buyers, "seconds": result.seconds}


def customers_changed(customer_ids: list[int]) -> None:
    """Listener for :func:`rapport.core.changes.on_customers_changed`."""
    from rapport.core.jobs import enqueue

    enqueue(recompute_customers, customer_ids)
