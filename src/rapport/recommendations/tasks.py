"""The scheduled training (Celery beat; the in-process scheduler of ``rapport run`` otherwise)."""

from __future__ import annotations

import logging

from celery import shared_task

from rapport.recommendations import training

logger = logging.getLogger(__name__)


@shared_task(name="rapport.recommendations.train")
def train() -> dict[str, float]:
    """Refit the models, rewrite every customer's candidates and related products, and backtest."""
    run = training.train()
    logger.info("recommendations trained: %s customers in %s s", run.customers, run.seconds)
    return {"customers": run.customers, "seconds": run.seconds}
