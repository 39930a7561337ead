"""Sales forecasts for one series at a time, and the rolling-origin backtest that judges them.

Each series is classified by its demand pattern (Syntetos & Boylan: ADI, the average interval
between periods with demand, and CV², the squared coefficient of variation of the non-zero
demands). Regular series (smooth, erratic) are forecast by ETS (statsforecast's AutoETS, picked
by AICc), intermittent ones by Croston (optimised smoothing) and lumpy ones by TSB, which also
follows a product that stops selling. The retail calendar is an adjustment: the history is
divided by a factor per event signature (:mod:`rapport.inventory.retail_calendar`), learned from
an aggregate series where events stand out of the noise, and the forecast multiplied back.

Intervals: ETS gives them from its state-space model; Croston and TSB give none, so theirs are
the empirical quantiles of the recent (calendar-adjusted) demand, scaled to the forecast level.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from statsforecast.models import TSB, AutoARIMA, AutoETS, CrostonOptimized

from rapport.inventory import retail_calendar

Array = npt.NDArray[np.float64]
Factors = Mapping[frozenset[str], float]

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
LEVELS = (80, 95)
MIN_HISTORY = 8  # fewer periods than this: the recent average, no model
RECENT = 52  # periods whose demand gives an intermittent series its interval
MAX_ETS_SEASON = 24  # ETS cannot hold a longer season (weekly data's year is left to the calendar)
Z80 = 1.2815515655446004


def demand_class(y: Array) -> str:
    """``smooth``, ``erratic``, ``intermittent``, ``lumpy`` or ``inactive`` (no demand at all)."""
    demand = y[y > 0]
    if demand.size == 0:
        return "inactive"
    adi = y.size / demand.size
    cv2 = float((demand.std() / demand.mean()) ** 2) if demand.size > 1 else 0.0
    if adi < ADI_CUTOFF:
        return "smooth" if cv2 < CV2_CUTOFF else "erratic"
    return "intermittent" if cv2 < CV2_CUTOFF else "lumpy"


def event_factors(y: Array, sigs: Sequence[frozenset[str]], *, window: int = 8) -> dict[frozenset[str], float]:
    """One multiplicative factor per event signature: the median over its occurrences of the
    period's sales against the median of the plain periods within ``window`` around it."""
    plain = np.array([not s for s in sigs])
    ratios: dict[frozenset[str], list[float]] = {}
    for t, sig in enumerate(sigs):
        if not sig:
            continue
        low, high = max(0, t - window), min(len(y), t + window + 1)
        neighbours = y[low:high][plain[low:high]]
        if neighbours.size < 3:
            continue
        baseline = float(np.median(neighbours))
        if baseline > 0:
            ratios.setdefault(sig, []).append(min(max(float(y[t]) / baseline, 0.1), 20.0))
    return {sig: float(np.exp(np.median(np.log(values)))) for sig, values in ratios.items()}


def adjustment(sigs: Sequence[frozenset[str]], factors: Factors) -> Array:
    return np.array([factors.get(sig, 1.0) if sig else 1.0 for sig in sigs], dtype=np.float64)


@dataclass
class Forecast:
    """The next periods' expected demand with ``lo``/``hi`` bounds per level (80 and 95 %)."""

    mean: Array
    lo: dict[int, Array]
    hi: dict[int, Array]
    method: str
    demand_class: str
    sigma: float  # one period's forecast error (standard deviation), before calendar factors
    extra: dict[str, float] = field(default_factory=dict)


def _empirical(y: Array, mean: Array, method: str, cls: str, levels: Sequence[int]) -> Forecast:
    recent = y[-RECENT:] if y.size else np.zeros(1)
    level = float(recent.mean())
    scale = float(mean[0]) / level if level > 0 else 0.0
    lo = {lv: np.full(mean.size, float(np.quantile(recent, (1 - lv / 100) / 2)) * scale) for lv in levels}
    hi = {lv: np.full(mean.size, float(np.quantile(recent, 1 - (1 - lv / 100) / 2)) * scale) for lv in levels}
    return Forecast(mean, lo, hi, method, cls, float(recent.std()) * scale)


def _ets(y: Array, horizon: int, season: int, levels: Sequence[int], cls: str) -> Forecast:
    season = season if 1 < season <= MAX_ETS_SEASON and y.size >= 2 * season + 2 else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = AutoETS(season_length=season).forecast(y=y, h=horizon, level=list(levels))
    mean = np.asarray(out["mean"], dtype=np.float64)
    lo = {lv: np.asarray(out[f"lo-{lv}"], dtype=np.float64) for lv in levels}
    hi = {lv: np.asarray(out[f"hi-{lv}"], dtype=np.float64) for lv in levels}
    sigma = float(hi[80][0] - mean[0]) / Z80 if 80 in hi else float(np.std(y))
    if not np.all(np.isfinite(mean)):
        return _empirical(y, np.full(horizon, float(y[-RECENT:].mean())), "mean", cls, levels)
    return Forecast(mean, lo, hi, "ets", cls, sigma)


def _intermittent(y: Array, horizon: int, levels: Sequence[int], cls: str) -> Forecast:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cls == "lumpy":
            out, method = TSB(alpha_d=0.1, alpha_p=0.1).forecast(y=y, h=horizon), "tsb"
        else:
            out, method = CrostonOptimized().forecast(y=y, h=horizon), "croston"
    mean = np.asarray(out["mean"], dtype=np.float64)
    return _empirical(y, mean, method, cls, levels)


def forecast(
    y: Array,
    *,
    horizon: int,
    season: int = 1,
    history_factors: Array | None = None,
    future_factors: Array | None = None,
    levels: Sequence[int] = LEVELS,
) -> Forecast:
    """Forecast ``horizon`` periods after ``y``; factors (one per period) carry the calendar."""
    y = np.asarray(y, dtype=np.float64)
    adjusted = y / history_factors if history_factors is not None else y
    cls = demand_class(y)
    if y.size < MIN_HISTORY or cls == "inactive":
        level = float(adjusted[-RECENT:].mean()) if y.size else 0.0
        result = _empirical(adjusted, np.full(horizon, level), "mean", cls, levels)
    elif cls in ("smooth", "erratic"):
        result = _ets(adjusted, horizon, season, levels, cls)
    else:
        result = _intermittent(adjusted, horizon, levels, cls)
    factor = future_factors if future_factors is not None else np.ones(horizon)
    result.mean = np.maximum(result.mean * factor, 0.0)
    result.lo = {lv: np.maximum(v * factor, 0.0) for lv, v in result.lo.items()}
    result.hi = {lv: np.maximum(v * factor, 0.0) for lv, v in result.hi.items()}
    return result


def arima_forecast(y: Array, *, horizon: int, season: int) -> Array:
    """AutoARIMA's point forecast: a second regular-series model the backtest reports beside ETS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = AutoARIMA(season_length=season if y.size >= 2 * season + 2 else 1).forecast(y=y, h=horizon)
    return np.asarray(out["mean"], dtype=np.float64)


def seasonal_naive(y: Array, *, horizon: int, season: int) -> Array:
    """The baseline: each period repeats the same period one season earlier (the last value when
    the history is shorter than a season)."""
    if season <= 1 or y.size < season:
        return np.full(horizon, float(y[-1]) if y.size else 0.0)
    last = y[-season:]
    return np.array([last[i % season] for i in range(horizon)], dtype=np.float64)


def mase_scale(y: Array, season: int) -> float:
    """The in-sample mean absolute error of the seasonal-naive forecast (Hyndman & Koehler 2006)."""
    lag = season if y.size > season else 1
    diffs = np.abs(y[lag:] - y[:-lag])
    return float(diffs.mean()) if diffs.size else math.nan


Predictor = Callable[[Array, int], Array]


def backtest(
    y: Array, *, horizon: int, season: int, origins: int, predictors: Mapping[str, Predictor]
) -> dict[str, dict[str, float]]:
    """Rolling origins: fit on ``y[:t]``, forecast ``horizon`` ahead, for ``origins`` cut-offs
    ``horizon`` apart ending at the last full horizon. Per method: MASE (mean over origins of
    the error scaled by the training data's seasonal-naive error) and WAPE (Σ|error| / Σ actual)."""
    y = np.asarray(y, dtype=np.float64)
    cutoffs = [y.size - horizon * k for k in range(origins, 0, -1) if y.size - horizon * k >= MIN_HISTORY]
    scores: dict[str, dict[str, list[float]]] = {name: {"mase": [], "abs": [], "actual": []} for name in predictors}
    for cut in cutoffs:
        train, actual = y[:cut], y[cut : cut + horizon]
        scale = mase_scale(train, season)
        for name, predict in predictors.items():
            error = np.abs(actual - predict(train, cut)[: actual.size])
            if scale > 0:
                scores[name]["mase"].append(float(error.mean()) / scale)
            scores[name]["abs"].append(float(error.sum()))
            scores[name]["actual"].append(float(np.abs(actual).sum()))
    return {
        name: {
            "mase": float(np.mean(s["mase"])) if s["mase"] else math.nan,
            "wape": sum(s["abs"]) / sum(s["actual"]) if sum(s["actual"]) else math.nan,
            "origins": float(len(cutoffs)),
        }
        for name, s in scores.items()
    }


def period_starts(first: dt.date, count: int, days: int) -> list[dt.date]:
    return [first + dt.timedelta(days=days * i) for i in range(count)]


def calendar_predictor(
    starts: Sequence[dt.date], days: int, *, horizon: int, season: int, factors_from: Array | None = None
) -> Predictor:
    """Our forecast for a backtest: calendar factors learned on the training part only (of
    ``factors_from``, an aggregate the series belongs to, or of the series itself)."""
    sigs = retail_calendar.signatures(
        list(starts) + period_starts(starts[-1] + dt.timedelta(days=days), horizon, days), days
    )

    def predict(train: Array, cut: int) -> Array:
        source = factors_from[:cut] if factors_from is not None else train
        factors = event_factors(source, sigs[:cut])
        return forecast(
            train,
            horizon=horizon,
            season=season,
            history_factors=adjustment(sigs[:cut], factors),
            future_factors=adjustment(sigs[cut : cut + horizon], factors),
        ).mean

    return predict
