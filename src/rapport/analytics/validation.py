"""The CDNOW validation behind ``docs/models.md``: ``python -m rapport.analytics.validation DIR``.

``DIR`` holds ``CDNOW_sample.txt`` and ``CDNOW_master.txt``. The classic set-up: 39-week
calibration from 1997-01-01 (to 1997-09-30), 39-week hold-out (to 1998-06-30), weeks, same-day
purchases merged. It prints the estimates for both files, the hold-out comparison and the churn
classifier's out-of-time ROC AUC, and draws ``docs/cdnow_validation.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rapport.analytics import churn, clv
from rapport.analytics.clv_fit import ClvFit, fit_log
from rapport.analytics.summary import DAY_SECONDS, RECENT_DAYS, PurchaseSummary
from rapport.analytics.transactions import TransactionLog, read_cdnow

CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)
START = dt.date(1997, 1, 1)
WEEKS = 78
FREQUENCY_GROUPS = 7  # hold-out comparison by calibration frequency 0 … 6 and 7+
FloatArrayT = NDArray[np.float64]


def cumulative_tracking(log: TransactionLog, params: dict[str, float]) -> tuple[FloatArrayT, FloatArrayT]:
    """Actual and expected cumulative repeat purchases of all customers at the end of each week.

    Expected: each customer's unconditional BG/NBD expectation from their first purchase day."""
    first_by_customer: dict[str, np.datetime64] = {}
    days = np.unique(np.rec.fromarrays([log.customers, log.days.astype("datetime64[D]")]))
    customers, purchase_days = days["f0"], days["f1"]
    for customer, day in zip(customers, purchase_days, strict=True):
        first_by_customer.setdefault(str(customer), day)
    first_days = np.array(list(first_by_customer.values()), dtype="datetime64[D]")
    start = np.datetime64(START, "D")
    week_ends = start + np.arange(1, WEEKS + 1) * 7  # exclusive ends of each week
    is_repeat = purchase_days != np.array([first_by_customer[str(c)] for c in customers], dtype="datetime64[D]")
    actual = np.array([np.sum(is_repeat & (purchase_days < end)) for end in week_ends], dtype=np.float64)
    unique_first, counts = np.unique(first_days, return_counts=True)
    expected = np.zeros(WEEKS)
    for first, count in zip(unique_first, counts, strict=True):
        elapsed = np.maximum((week_ends - first).astype(np.float64) - 1, 0) / 7.0
        expected += count * clv.bgnbd_unconditional_purchases(params, elapsed)
    return actual, expected


def holdout_by_frequency(result: ClvFit) -> list[dict[str, Any]]:
    """Mean predicted and actual hold-out purchases per calibration frequency group."""
    s = result.summary
    assert s.holdout_frequency is not None and result.holdout_predicted is not None
    groups = []
    for x in range(FREQUENCY_GROUPS + 1):
        members = s.frequency == x if x < FREQUENCY_GROUPS else s.frequency >= x
        groups.append(
            {
                "frequency": f"{x}+" if x == FREQUENCY_GROUPS else str(x),
                "customers": int(members.sum()),
                "predicted": float(result.holdout_predicted[members].mean()),
                "actual": float(s.holdout_frequency[members].mean()),
            }
        )
    return groups


def summary_from_log(log: TransactionLog, as_of: dt.datetime) -> PurchaseSummary:
    """What :func:`rapport.analytics.summary.purchase_summary` gives from the database, from a log."""
    cutoff = np.datetime64(as_of.date(), "D")
    before = log.days < cutoff
    customers, inverse = np.unique(log.customers[before], return_inverse=True)
    days = log.days[before].astype("datetime64[D]").astype(np.int64)
    amounts = log.amounts[before]
    n = customers.size
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, inverse, days)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, inverse, days)
    distinct = np.unique(inverse.astype(np.int64) * 100_000 + (days - days.min()))
    recent = days >= cutoff.astype(np.int64) - RECENT_DAYS
    orders = np.bincount(inverse, minlength=n).astype(np.float64)
    spent = np.bincount(inverse, weights=amounts, minlength=n).astype(np.float64)
    zeros = np.zeros(n)
    return PurchaseSummary(
        as_of=as_of,
        customer_ids=customers.astype(np.int64),
        orders=orders,
        purchase_days=np.bincount(distinct // 100_000, minlength=n).astype(np.float64),
        first_seconds=first.astype(np.float64) * DAY_SECONDS,
        last_seconds=last.astype(np.float64) * DAY_SECONDS,
        net_spent=spent,
        gross_spent=spent,
        subtotal=zeros,
        discount=zeros,
        recent_orders=np.bincount(inverse[recent], minlength=n).astype(np.float64),
        recent_spent=np.bincount(inverse[recent], weights=amounts[recent], minlength=n).astype(np.float64),
    )


def churn_evaluation(log: TransactionLog) -> churn.Evaluation | None:
    """The churn classifier's out-of-time evaluation on CDNOW, as of the day after the data ends."""
    ids = log.customers.astype(np.int64)
    numeric = TransactionLog(ids.astype(str), log.days, log.amounts)

    def bought_between(start: dt.datetime, end: dt.datetime, customer_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        window = (log.days >= np.datetime64(start.date(), "D")) & (log.days < np.datetime64(end.date(), "D"))
        return np.isin(customer_ids, ids[window])

    now = dt.datetime.combine(HOLDOUT_END + dt.timedelta(days=1), dt.time(), dt.UTC)
    return churn.train_out_of_time(now, lambda as_of: summary_from_log(numeric, as_of), bought_between)


def plot(path: Path, actual: FloatArrayT, expected: FloatArrayT, groups: list[dict[str, Any]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    weeks = np.arange(1, WEEKS + 1)
    left.plot(weeks, actual, color="black", label="Actual")
    left.plot(weeks, expected, color="tab:blue", linestyle="--", label="BG/NBD")
    left.axvline(39, color="grey", linestyle=":")
    left.text(40, actual.max() * 0.05, "hold-out →", color="grey")
    left.set(xlabel="Week", ylabel="Cumulative repeat purchases", title="Calibration and hold-out tracking")
    left.legend()
    labels = [g["frequency"] for g in groups]
    x = np.arange(len(groups))
    right.bar(x - 0.2, [g["actual"] for g in groups], width=0.4, color="black", label="Actual")
    right.bar(x + 0.2, [g["predicted"] for g in groups], width=0.4, color="tab:blue", label="BG/NBD")
    right.set_xticks(x, labels)
    right.set(
        xlabel="Repeat purchases in calibration (weeks 1–39)",
        ylabel="Mean purchases in hold-out (weeks 40–78)",
        title="Conditional expectations",
    )
    right.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path, help="folder with CDNOW_sample.txt and CDNOW_master.txt")
    parser.add_argument("--plot", type=Path, default=Path("docs/cdnow_validation.png"))
    options = parser.parse_args()
    for name in ("CDNOW_sample.txt", "CDNOW_master.txt"):
        log = read_cdnow(options.data / name)
        result = fit_log(log, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END)
        report = result.as_json(per_customer=False)
        print(f"## {name}: {report['customers']} customers, {report['repeat_customers']} repeat")
        print("BG/NBD", report["bgnbd"])
        print("Gamma-Gamma", report["gamma_gamma"])
        print("Hold-out", report["holdout"])
        groups = holdout_by_frequency(result)
        for g in groups:
            print(
                f"  x={g['frequency']:>2} n={g['customers']:5d} predicted {g['predicted']:.3f} actual {g['actual']:.3f}"
            )
        actual, expected = cumulative_tracking(log, result.bgnbd.params)
        print(f"week 39: actual {actual[38]:.0f} expected {expected[38]:.1f}")
        print(f"week 78: actual {actual[-1]:.0f} expected {expected[-1]:.1f}")
        evaluation = churn_evaluation(log)
        print("Churn", evaluation.quality() if evaluation else "not enough data")
        if name == "CDNOW_sample.txt":
            plot(options.plot, actual, expected, groups, f"BG/NBD on CDNOW ({report['customers']:,} customers)")


if __name__ == "__main__":
    main()
