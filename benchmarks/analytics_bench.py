"""Analytics speed: (a) the full customer metrics run on PostgreSQL, (b) our BG/NBD fit against
``lifetimes`` and against scipy's general-purpose optimisers on the same likelihood.

(a) Creates a fresh PostgreSQL database (default ``rapport_analytics_bench``), migrates it and
loads generated customers and orders (one line each) with ``COPY`` — the loader of
``segment_bench.py``, without events — then times ``metrics.recompute_all()``: the SQL
aggregation, the fits (RFM breakpoints, BG/NBD, Gamma-Gamma, the churn classifier's two
out-of-time snapshots), the scoring and the write-back (COPY + one ``INSERT … ON CONFLICT``).
A second run times the same against a table that already holds every row. Each phase is timed
on its own as well.

(b) On ``CDNOW_master.txt`` (23,570 customers; 39-week calibration): our fit (vectorised
log-likelihood, analytic gradient, L-BFGS-B on log-parameters, identical summaries counted
once) against ``lifetimes.BetaGeoFitter`` run in a separate virtualenv (it pins old libraries;
``--lifetimes-python``), and against ``scipy.optimize.minimize`` with Nelder-Mead and with
L-BFGS-B on finite-difference gradients, both over the per-customer likelihood.

    .venv/bin/python benchmarks/analytics_bench.py                     # 1M customers / 10M orders
    .venv/bin/python benchmarks/analytics_bench.py --customers 200000 --orders 2000000
    .venv/bin/python benchmarks/analytics_bench.py --only fit
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_analytics_bench"
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
LIFETIMES_SCRIPT = """
import json, sys, time
import numpy as np
from lifetimes import BetaGeoFitter
data = np.load(sys.argv[1])
times, params = [], None
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    model = BetaGeoFitter(penalizer_coef=0.0).fit(data["x"], data["t_x"], data["T"])
    times.append(time.perf_counter() - started)
    params = {k: float(v) for k, v in model.params_.items()}
print(json.dumps({"times": times, "params": params}))
"""


def _timed(label: str, work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:8.2f} s", flush=True)
    return result, seconds


# (a) The metrics run --------------------------------------------------------------------------


def metrics_run(url: str, customers: int, orders: int, reuse: bool, seed: int) -> dict[str, Any]:
    from scratch_db import recreate_database, setup_django
    from segment_bench import NOW, load

    if not reuse:
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if not reuse:
        print(f"loading {customers:,} customers and {orders:,} orders (one line each)", flush=True)
        load(customers, orders, 0, seed)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_customermetrics, analytics_modelfit")
        cursor.execute("SELECT count(*) FROM customers_customer")
        (customer_count,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM commerce_order")
        (order_count,) = cursor.fetchone()
    print(f"database: {customer_count:,} customers, {order_count:,} orders", flush=True)

    from rapport.analytics import churn, metrics
    from rapport.analytics.queries import buyers_between, preferred_categories, purchase_summary

    now = NOW
    print("phases, each on its own:", flush=True)
    summary, t_summary = _timed("SQL aggregation per customer", lambda: purchase_summary(now))
    _, t_categories = _timed("preferred category per customer (SQL)", lambda: preferred_categories(now))
    x, t_x, age = metrics.bgnbd_inputs(summary)
    sample = metrics.fit_sample(summary.customer_ids.size)
    from rapport.analytics import clv

    fit, t_fit = _timed(
        f"BG/NBD fit ({min(summary.customer_ids.size, metrics.BGNBD_SAMPLE):,} buyers)",
        lambda: clv.fit_bgnbd(x[sample], t_x[sample], age[sample]),
    )
    _, t_churn = _timed(
        "churn: two snapshots, labels, fit, AUC", lambda: churn.train_out_of_time(now, purchase_summary, buyers_between)
    )
    print("full run (recompute_all), empty metrics table:", flush=True)
    first, t_first = _timed("recompute_all", lambda: metrics.recompute_all(now=now))
    print("full run again, every row already there (the nightly case):", flush=True)
    _, t_second = _timed("recompute_all", lambda: metrics.recompute_all(now=now))
    one = int(summary.customer_ids[len(summary.customer_ids) // 2])
    _, t_one = _timed("recompute_customers([one customer])", lambda: metrics.recompute_customers([one], now=now))
    return {
        "customers": customer_count,
        "orders": order_count,
        "buyers": first.buyers,
        "seconds": {
            "aggregation": round(t_summary, 2),
            "preferred_category": round(t_categories, 2),
            "bgnbd_fit": round(t_fit, 2),
            "churn_training": round(t_churn, 2),
            "full_run_first": round(t_first, 2),
            "full_run_again": round(t_second, 2),
            "one_customer": round(t_one, 3),
        },
        "bgnbd": {k: round(v, 4) for k, v in fit.params.items()},
    }


# (b) BG/NBD fit speed -------------------------------------------------------------------------


def _negative_ll_per_customer(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> Callable[[np.ndarray], float]:
    from rapport.analytics import clv

    def value(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            ll, _grad = clv.bgnbd_log_likelihood(np.exp(log_params), x, t_x, T)
        total = -float(ll.sum()) / x.size
        return total if np.isfinite(total) else 1e10

    return value


def fit_speed(runs: int, lifetimes_python: str) -> dict[str, Any]:
    from scipy import optimize
    from threadpoolctl import threadpool_limits

    from rapport.analytics import clv
    from rapport.analytics.transactions import read_cdnow, summarise

    summary = summarise(read_cdnow(CDNOW), calibration_end=dt.date(1997, 9, 30))
    x, t_x, T = summary.frequency, summary.recency, summary.age
    print(f"CDNOW master: {x.size:,} customers; median of {runs} fits each", flush=True)
    results: dict[str, Any] = {}

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        ours = clv.fit_bgnbd(x, t_x, T)
        times.append(time.perf_counter() - started)
    results["ours"] = {"seconds": statistics.median(times), "params": ours.params}

    objective = _negative_ll_per_customer(x, t_x, T)
    start = np.log(np.array([1.0, float(np.mean(T)), 1.0, 1.0]))
    for name, method, options in (
        ("scipy Nelder-Mead", "Nelder-Mead", {"maxiter": 20000, "maxfev": 20000, "xatol": 1e-8, "fatol": 1e-12}),
        ("scipy L-BFGS-B, numeric gradient", "L-BFGS-B", {"maxiter": 500, "gtol": 1e-9}),
    ):
        times = []
        for _ in range(max(1, runs // 2)):
            started = time.perf_counter()
            with threadpool_limits(limits=1, user_api="blas"):  # as ours: no BLAS threads spinning
                found = optimize.minimize(objective, start, method=method, options=options)
            times.append(time.perf_counter() - started)
        params = dict(zip(("r", "alpha", "a", "b"), np.exp(found.x).tolist(), strict=True))
        results[name] = {"seconds": statistics.median(times), "params": params}

    if Path(lifetimes_python).exists():
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "cdnow.npz"
            np.savez(data, x=x, t_x=t_x, T=T)
            done = subprocess.run(
                [lifetimes_python, "-c", LIFETIMES_SCRIPT, str(data), str(max(1, runs // 2))],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            )
        if done.returncode == 0:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
            results["lifetimes 0.11.3"] = {"seconds": statistics.median(answer["times"]), "params": answer["params"]}
        else:
            print(f"lifetimes failed: {done.stderr.strip()[-500:]}", flush=True)
    else:
        print(f"lifetimes not measured: no interpreter at {lifetimes_python}", flush=True)

    for row in results.values():  # every fit's log-likelihood by the same function
        p = row["params"]
        row["ll"] = float(clv.bgnbd_log_likelihood(np.array([p["r"], p["alpha"], p["a"], p["b"]]), x, t_x, T)[0].sum())
    base = results["ours"]["seconds"]
    print(f"{'fit':<36} {'seconds':>9} {'× ours':>8}   r        alpha    a        b        log-lik", flush=True)
    for name, row in results.items():
        p = row["params"]
        print(
            f"{name:<36} {row['seconds']:9.3f} {row['seconds'] / base:8.1f}   "
            f"{p['r']:.4f}   {p['alpha']:.4f}   {p['a']:.4f}   {p['b']:.4f}   {row['ll']:.2f}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("ANALYTICS_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="run on the data a previous run loaded")
    parser.add_argument("--only", choices=("metrics", "fit"), help="run one part only")
    parser.add_argument("--runs", type=int, default=7, help="fits per method in part (b)")
    parser.add_argument("--lifetimes-python", default="/tmp/lifetimes-env/bin/python")
    options = parser.parse_args()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    report: dict[str, Any] = {}
    if options.only in (None, "fit"):
        print("\n(b) BG/NBD fit on CDNOW master", flush=True)
        report["fit"] = fit_speed(options.runs, options.lifetimes_python)
    if options.only in (None, "metrics"):
        print("\n(a) full metrics run on PostgreSQL", flush=True)
        report["metrics"] = metrics_run(
            options.database_url, options.customers, options.orders, options.reuse, options.seed
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
