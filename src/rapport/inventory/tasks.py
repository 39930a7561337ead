"""The scheduled forecast (Celery beat; the in-process scheduler of ``rapport run`` otherwise)."""

from __future__ import annotations

import logging

from celery import shared_task

from rapport.inventory import planning

logger = logging.getLogger(__name__)


@shared_task(name="rapport.inventory.forecast")
def forecast() -> dict[str, float]:
    """Forecast every series, store the forecasts and the stock plan, and backtest per category."""
    run = planning.refresh_forecasts()
    logger.info("sales forecast: %s series in %s s", run.series, run.seconds)
    return {"series": run.series, "seconds": run.seconds}
