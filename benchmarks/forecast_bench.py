"""The sales forecast at catalogue scale: 20,000 product series, two years of weeks each,
forecast 13 weeks ahead by the production engine (``rapport.inventory.forecasting``: demand
classes, ETS / Croston / TSB, calendar factors learned per category), then scored once on the
13 held-out weeks against seasonal-naive (the same week a year before) — MASE and WAPE. With
``--frequency day``: the last 364 days of each series, 91 days ahead (ETS with a weekly season),
against the same weekday a week before.

The series are simulated with what a shop's catalogue looks like: a quarter of products sell
every week (a level with drift and noise), the rest are intermittent or lumpy long tail; 20
categories share the Chinese retail calendar's uplifts (11.11, 618, 双12, 年货节, the Spring
Festival dip) at strengths of their own. No database: the nightly job's reads and writes are
two grouped queries and a bulk upsert; this measures the modelling, which is the bulk of it.

    .venv/bin/python benchmarks/forecast_bench.py                    # 20,000 series
    .venv/bin/python benchmarks/forecast_bench.py --series 2000 --workers 2
    .venv/bin/python benchmarks/forecast_bench.py --frequency day        # 364 days, 91 ahead
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rapport.inventory import forecasting, retail_calendar  # noqa: E402

WEEKS, HORIZON, CATEGORIES, YEAR = 104, 13, 20, 52
DAY_HISTORY, DAY_HORIZON, WEEK_DAYS = 364, 91, 7
WEEKDAY_SHARE = np.array([0.12, 0.12, 0.13, 0.13, 0.15, 0.18, 0.17])  # Monday … Sunday
EVENT_UPLIFT = {
    "double11_presale": 1.5,
    "double11": 2.5,
    "618_warmup": 1.3,
    "618": 1.8,
    "double12": 1.4,
    "newyear_goods": 1.4,
    "spring_festival": 0.5,
}


def simulate(series: int, seed: int, first: dt.date) -> tuple[np.ndarray, np.ndarray, list[frozenset[str]]]:
    """(units: series × weeks, category of each series, calendar signature of each week)."""
    rng = np.random.default_rng(seed)
    weeks = WEEKS + HORIZON
    sigs = retail_calendar.signatures(forecasting.period_starts(first, weeks, 7), 7)
    strength = rng.uniform(0.5, 1.5, CATEGORIES)
    uplift = np.ones((CATEGORIES, weeks))
    for c in range(CATEGORIES):
        for t, sig in enumerate(sigs):
            for event in sig:
                uplift[c, t] *= 1 + (EVENT_UPLIFT[event] - 1) * strength[c]
    category = rng.integers(0, CATEGORIES, series)
    units = np.zeros((series, weeks))
    for i in range(series):
        if rng.random() < 0.25:  # regular sellers
            level = rng.uniform(5, 80) * np.exp(np.cumsum(rng.normal(0, 0.03, weeks)))
            units[i] = rng.poisson(level * uplift[category[i]])
        else:  # the long tail: sells in some weeks only
            p = rng.uniform(0.05, 0.6)
            size = rng.uniform(1, 6)
            sold = rng.random(weeks) < np.minimum(p * uplift[category[i]], 1)
            lumpy = rng.random() < 0.3  # some sell in lots (a shop buying ten at once)
            sizes = rng.geometric(1 / (1 + size * 3), weeks) if lumpy else 1 + rng.poisson(size, weeks)
            units[i] = sold * sizes
    return units, category, sigs


def by_day(units: np.ndarray, first: dt.date, seed: int) -> tuple[np.ndarray, list[frozenset[str]]]:
    """The last 65 weeks of each series split into days (weekends sell more): 364 days of history
    and the same 91 days held out as the weekly run's 13 weeks."""
    weeks = (DAY_HISTORY + DAY_HORIZON) // 7
    recent = units[:, -weeks:].astype(np.int64)
    days = np.random.default_rng(seed + 1).multinomial(recent, WEEKDAY_SHARE).reshape(units.shape[0], weeks * 7)
    first_day = first + dt.timedelta(weeks=units.shape[1] - weeks)
    return days.astype(np.float64), retail_calendar.signatures(forecasting.period_starts(first_day, weeks * 7, 1), 1)


def _forecast_chunk(
    args: tuple[np.ndarray, np.ndarray, list[frozenset[str]], dict[int, Any], int, int, int],
) -> tuple[np.ndarray, list[str]]:
    units, category, sigs, factors, history, horizon, season = args
    means = np.zeros((units.shape[0], horizon))
    methods = []
    for i in range(units.shape[0]):
        f = factors[int(category[i])]
        result = forecasting.forecast(
            units[i, :history],
            horizon=horizon,
            season=season,
            history_factors=forecasting.adjustment(sigs[:history], f),
            future_factors=forecasting.adjustment(sigs[history:], f),
        )
        means[i] = result.mean
        methods.append(result.method)
    return means, methods


def score(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, season: int) -> tuple[float, float]:
    """Mean MASE over series with a non-zero scale, and WAPE over all series."""
    mases = []
    for i in range(actual.shape[0]):
        scale = forecasting.mase_scale(history[i], season)
        if scale > 0:
            mases.append(float(np.abs(actual[i] - predicted[i]).mean()) / scale)
    return float(np.mean(mases)), float(np.abs(actual - predicted).sum() / actual.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--frequency", choices=("week", "day"), default="week")
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    cpu_before = time.process_time()
    started = time.monotonic()
    first = dt.date(2024, 9, 2)  # the held-out weeks run from September into 11.11
    units, category, sigs = simulate(options.series, options.seed, first)
    # weekly: no ETS season (the year is the calendar's), seasonal-naive a year back; daily: the week
    history, horizon, season, baseline_season = WEEKS, HORIZON, 1, YEAR
    if options.frequency == "day":
        units, sigs = by_day(units, first, options.seed)
        history, horizon, season, baseline_season = DAY_HISTORY, DAY_HORIZON, WEEK_DAYS, WEEK_DAYS
    simulated = time.monotonic() - started

    started, cpu_started = time.monotonic(), time.process_time()
    factors = {
        c: forecasting.event_factors(units[category == c, :history].sum(axis=0), sigs[:history])
        for c in range(CATEGORIES)
    }
    chunks = np.array_split(np.arange(options.series), max(options.workers * 8, 1))
    jobs = [(units[idx], category[idx], sigs, factors, history, horizon, season) for idx in chunks]
    if options.workers > 1:
        with ProcessPoolExecutor(options.workers) as pool:
            results = list(pool.map(_forecast_chunk, jobs))
    else:
        results = [_forecast_chunk(job) for job in jobs]
    predicted = np.vstack([r[0] for r in results])
    methods = Counter(m for r in results for m in r[1])
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started

    past, actual = units[:, :history], units[:, history:]
    naive = np.vstack([forecasting.seasonal_naive(h, horizon=horizon, season=baseline_season) for h in past])
    ours = score(actual, predicted, past, baseline_season)
    baseline = score(actual, naive, past, baseline_season)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    print(f"date {dt.date.today()}  commit {commit.strip()}  {platform.machine()}  cpus {os.cpu_count()}")
    print(f"load (1-minute average) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    unit = "weeks" if options.frequency == "week" else "days"
    size = f"{options.series:,} {options.frequency} series × {history} {unit}, {horizon} {unit} ahead"
    print(f"{size}, workers {options.workers}")
    print(f"simulated in {simulated:.1f} s; forecast in {seconds:.1f} s ({options.series / seconds:,.0f} series/s)")
    if options.workers == 1:
        print(f"forecast CPU {cpu:.1f} s ({1000 * cpu / options.series:.1f} ms per series)")
    print("methods: " + ", ".join(f"{k} {v:,}" for k, v in methods.most_common()))
    print(f"forecast        MASE {ours[0]:.3f}  WAPE {ours[1]:.1%}")
    print(f"seasonal-naive  MASE {baseline[0]:.3f}  WAPE {baseline[1]:.1%}")
    print(f"total CPU {time.process_time() - cpu_before:.1f} s")


if __name__ == "__main__":
    main()
