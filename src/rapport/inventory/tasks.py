"""The scheduled forecast (Celery beat; the in-process scheduler of ``rapport run`` otherwise)."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.inventory import planning

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.inventory.forecast", label=_("Sales forecast and stock plan"))
def forecast() -> dict[str, float]:
    """Forecast every series, store the forecasts and the stock plan, and backtest per category."""
    run = planning.refresh_forecasts()
    logger.info("sales forecast: %s series in %s s", run.series, run.seconds)
    return {"series": run.series, "seconds": run.seconds}
