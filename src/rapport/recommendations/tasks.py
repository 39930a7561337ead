"""The scheduled training (Celery beat; the in-process scheduler of ``rapport run`` otherwise)."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.recommendations import training

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.recommendations.train", label=_("Recommendation model training"))
def train() -> dict[str, float]:
    """Refit the models, rewrite every customer's candidates and related products, and backtest."""
    run = training.train()
    logger.info("recommendations trained: %s customers in %s s", run.customers, run.seconds)
    return {"customers": run.customers, "seconds": run.seconds}
