import datetime as dt

import numpy as np
import pytest

from rapport.inventory import forecasting, retail_calendar, validation


def _coverage(make_series, *, runs=150, history=104, horizon=13):
    rng = np.random.default_rng(22)
    hits = {level: [] for level in forecasting.LEVELS}
    for _ in range(runs):
        y = make_series(rng, history + horizon)
        result = forecasting.forecast(y[:history], horizon=horizon)
        future = y[history:]
        for level in forecasting.LEVELS:
            hits[level].append(np.mean((future >= result.lo[level]) & (future <= result.hi[level])))
    return result, {level: float(np.mean(v)) for level, v in hits.items()}


def test_ets_intervals_contain_the_truth_at_about_the_stated_rate():
    def local_level(rng, n):
        return np.maximum(60 + np.cumsum(rng.normal(0, 2, n)) + rng.normal(0, 8, n), 0)

    result, coverage = _coverage(local_level)
    assert result.method == "ets" and result.demand_class == "smooth"
    assert coverage[80] == pytest.approx(0.80, abs=0.06)
    assert coverage[95] == pytest.approx(0.95, abs=0.04)


def test_intermittent_intervals_cover_at_least_the_stated_rate_of_count_demand():
    def sparse(rng, n):
        return (rng.poisson(0.4, n) * rng.integers(1, 4, n)).astype(float)

    result, coverage = _coverage(sparse)
    assert result.method in ("croston", "tsb") and result.demand_class in ("intermittent", "lumpy")
    # counts tie at their quantiles, so an interval of whole units covers a little more than stated
    assert 0.78 <= coverage[80] <= 0.95
    assert 0.93 <= coverage[95] <= 1.0


def test_demand_classes_follow_adi_and_cv2():
    assert forecasting.demand_class(np.full(20, 5.0)) == "smooth"
    assert forecasting.demand_class(np.array([1.0, 30.0] * 10)) == "erratic"
    assert forecasting.demand_class(np.array([0, 0, 3.0, 0] * 5)) == "intermittent"
    assert forecasting.demand_class(np.array([0, 0, 1.0, 0, 0, 40.0] * 4)) == "lumpy"
    assert forecasting.demand_class(np.zeros(10)) == "inactive"


def test_the_calendar_puts_the_peak_back_on_11_11():
    first = dt.date(2024, 9, 2)  # the forecast runs into November 2026
    starts = forecasting.period_starts(first, 104 + 13, 7)
    sigs = retail_calendar.signatures(starts, 7)
    rng = np.random.default_rng(3)
    uplift = np.array([3.0 if "double11" in s else 1.0 for s in sigs])
    y = 100 * uplift * rng.normal(1, 0.03, uplift.size)
    factors = forecasting.event_factors(y[:104], sigs[:104])
    assert max(factors.values()) == pytest.approx(3.0, rel=0.1)
    result = forecasting.forecast(
        y[:104],
        horizon=13,
        history_factors=forecasting.adjustment(sigs[:104], factors),
        future_factors=forecasting.adjustment(sigs[104:], factors),
    )
    peak = int(np.argmax(result.mean))
    assert "double11" in sigs[104 + peak]
    assert result.mean[peak] == pytest.approx(300, rel=0.1)


def test_calendar_knows_the_spring_festival_and_the_shopping_days():
    assert retail_calendar.events_on(dt.date(2026, 11, 11)) == {"double11"}
    assert retail_calendar.events_on(dt.date(2026, 6, 18)) == {"618"}
    assert retail_calendar.events_on(dt.date(2026, 2, 17)) == {"spring_festival"}
    assert retail_calendar.events_on(dt.date(2026, 2, 1)) == {"newyear_goods"}
    assert retail_calendar.events_on(dt.date(2026, 3, 3)) == frozenset()


def test_mase_and_wape_by_hand():
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    scores = forecasting.backtest(
        y, horizon=2, season=1, origins=1, predictors={"flat": lambda train, cut: np.full(2, train[-1])}
    )
    # errors 1 and 2 against a naive in-sample error of 1: MASE 1.5; WAPE 3 / (11 + 12)
    assert scores["flat"]["mase"] == pytest.approx(1.5)
    assert scores["flat"]["wape"] == pytest.approx(3 / 23)


@pytest.mark.parametrize("series", validation.SERIES, ids=lambda s: s.file)
def test_forecast_beats_seasonal_naive_on_real_retail_series(series):
    scores = validation.backtest(series)
    assert scores["forecast"]["origins"] == series.origins
    assert scores["forecast"]["mase"] < scores["seasonal_naive"]["mase"]
    assert scores["forecast"]["wape"] < scores["seasonal_naive"]["wape"]
