"""What other apps read of the recommendations: the latest training run and its backtest."""

from __future__ import annotations

from rapport.recommendations.models import TrainingRun


def latest_run() -> TrainingRun | None:
    return TrainingRun.objects.first()
