"""Recompute ``CustomerMetrics``: RFM, lifecycle, value tier, preferences, CLV and churn scores.

A full run (:func:`recompute_all`, scheduled daily) aggregates every customer's orders in one SQL
query, refits the models (RFM quintile breakpoints, value-tier cut points, BG/NBD, Gamma-Gamma,
the churn classifier, weekly), stores the fits as :class:`~rapport.analytics.models.ModelFit` and
rewrites every customer's row. The incremental run (:func:`recompute_customers`, after orders
change) aggregates only the customers named and scores them with the stored fits, so one new
order costs a handful of queries, not a population scan.

RFM scores are quintiles of the population: a customer's score is one plus the number of
breakpoints their value lies above (ties share a score). Lifecycle thresholds come from
``settings.RAPPORT_LIFECYCLE_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from numpy.typing import NDArray

from rapport.analytics import churn, clv
from rapport.analytics.clv import FloatArray
from rapport.analytics.models import CustomerMetrics, LifecycleStage, ModelFit, PriceSensitivity, RfmSegment, ValueTier
from rapport.analytics.queries import buyers_between, preferred_categories, purchase_summary
from rapport.analytics.summary import PurchaseSummary
from rapport.customers.models import Customer

logger = logging.getLogger(__name__)

WEEK_DAYS = 7.0
CLV_WEEKS = 52.0
BGNBD_SAMPLE = 200_000  # customers the BG/NBD is fitted on in a full run (a random sample above it)
NEXT_ORDER_MAX_DAYS = 365
CHURN_RETRAIN_AFTER = dt.timedelta(days=7)
PRICE_SENSITIVITY_CUTS = (0.05, 0.15)  # share of list price discounted: medium from 5 %, high from 15 %
VALUE_TIER_QUANTILES = (0.5, 0.8, 0.95)  # net spent: medium, high, top from these quantiles of buyers

# R and F scores → the standard named segment (first match wins).
SEGMENT_RULES: tuple[tuple[tuple[int, int], tuple[int, int], RfmSegment], ...] = (
    ((1, 2), (1, 2), RfmSegment.HIBERNATING),
    ((1, 2), (3, 4), RfmSegment.AT_RISK),
    ((1, 2), (5, 5), RfmSegment.CANNOT_LOSE),
    ((3, 3), (1, 2), RfmSegment.ABOUT_TO_SLEEP),
    ((3, 3), (3, 3), RfmSegment.NEED_ATTENTION),
    ((3, 4), (4, 5), RfmSegment.LOYAL),
    ((4, 4), (1, 1), RfmSegment.PROMISING),
    ((5, 5), (1, 1), RfmSegment.NEW_CUSTOMERS),
    ((4, 5), (2, 3), RfmSegment.POTENTIAL_LOYALISTS),
    ((5, 5), (4, 5), RfmSegment.CHAMPIONS),
)


@dataclass(frozen=True)
class RunResult:
    customers: int
    buyers: int
    refitted: bool
    seconds: float


# Scoring helpers ---------------------------------------------------------------------------------


def quintile_breaks(values: FloatArray) -> list[float]:
    """The four values a score steps over: ``score = 1 + #(value > break)``."""
    if values.size == 0:
        return []
    ordered = np.sort(values)
    n = ordered.size
    return [float(ordered[int(np.ceil(k * n / 5)) - 1]) for k in range(1, 5)]


def scores(values: FloatArray, breaks: Sequence[float]) -> NDArray[np.int64]:
    if not breaks:
        return np.full(values.size, 3, dtype=np.int64)
    return 1 + (values[:, None] > np.array(breaks)[None, :]).sum(axis=1)


def rfm_segments(r: NDArray[np.int64], f: NDArray[np.int64]) -> NDArray[np.object_]:
    named = np.full(r.size, "", dtype=object)
    for (r_low, r_high), (f_low, f_high), segment in SEGMENT_RULES:
        hit = (named == "") & (r >= r_low) & (r <= r_high) & (f >= f_low) & (f <= f_high)
        named[hit] = segment.value
    return named


def lifecycle_stages(orders: FloatArray, recency: FloatArray, tenure: FloatArray) -> NDArray[np.object_]:
    days = settings.RAPPORT_LIFECYCLE_DAYS
    stage = np.where(recency > days["churned"], LifecycleStage.CHURNED.value, LifecycleStage.DORMANT.value).astype(
        object
    )
    live = recency <= days["active"]
    stage[live & (orders >= 2)] = LifecycleStage.REPEAT.value
    stage[live & (orders < 2)] = LifecycleStage.ACTIVE.value
    stage[live & (orders < 2) & (tenure <= days["new"])] = LifecycleStage.NEW.value
    return stage


def value_tiers(net_spent: FloatArray, cuts: Sequence[float]) -> NDArray[np.object_]:
    tiers = np.array(
        [ValueTier.LOW.value, ValueTier.MEDIUM.value, ValueTier.HIGH.value, ValueTier.TOP.value], dtype=object
    )
    if not cuts:
        return np.full(net_spent.size, ValueTier.LOW.value, dtype=object)
    return np.asarray(tiers[(net_spent[:, None] >= np.array(cuts)[None, :]).sum(axis=1)])


def price_sensitivity(share: FloatArray) -> NDArray[np.object_]:
    labels = np.array(
        [PriceSensitivity.LOW.value, PriceSensitivity.MEDIUM.value, PriceSensitivity.HIGH.value], dtype=object
    )
    return np.asarray(labels[(share[:, None] >= np.array(PRICE_SENSITIVITY_CUTS)[None, :]).sum(axis=1)])


def bgnbd_inputs(summary: PurchaseSummary) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frequency, recency and age in weeks (purchase days merged), as the papers define them."""
    frequency = np.maximum(summary.purchase_days - 1, 0)
    recency = (summary.last_day - summary.first_day) / WEEK_DAYS
    age = np.maximum(summary.tenure_days(), 0) / WEEK_DAYS
    return frequency, recency, np.maximum(age, recency)


# Fitting ----------------------------------------------------------------------------------------


def _latest(kind: str) -> dict[str, Any] | None:
    fit = ModelFit.objects.filter(kind=kind).only("params").first()
    return fit.params if fit else None


def _refit(summary: PurchaseSummary, now: dt.datetime) -> None:
    """Fit every model on the population and store the fits."""
    fits: list[ModelFit] = []
    recency = summary.recency_days()
    fits.append(
        ModelFit(
            kind=ModelFit.Kind.RFM,
            params={
                "recency": quintile_breaks(-recency),
                "frequency": quintile_breaks(summary.purchase_days),
                "monetary": quintile_breaks(summary.net_spent),
                "value_tiers": [float(np.quantile(summary.net_spent, q)) for q in VALUE_TIER_QUANTILES]
                if summary.net_spent.size
                else [],
            },
            customers=summary.customer_ids.size,
            fitted_at=now,
        )
    )
    frequency, rec, age = bgnbd_inputs(summary)
    sample = fit_sample(summary.customer_ids.size)
    try:
        bgnbd = clv.fit_bgnbd(frequency[sample], rec[sample], age[sample])
        fits.append(_fit_row(ModelFit.Kind.BGNBD, bgnbd, now))
        repeat_days = summary.purchase_days
        gamma = clv.fit_gamma_gamma(
            np.where(repeat_days >= 2, repeat_days, 0), np.divide(summary.net_spent, np.maximum(repeat_days, 1))
        )
        fits.append(_fit_row(ModelFit.Kind.GAMMA_GAMMA, gamma, now))
    except clv.FitError as exc:
        logger.info("CLV models not refitted: %s", exc)
    evaluation = churn.train_out_of_time(now, purchase_summary, buyers_between) if _churn_due(now) else None
    if evaluation is not None:
        fits.append(
            ModelFit(
                kind=ModelFit.Kind.CHURN,
                params=evaluation.model.as_params(),
                quality=evaluation.quality(),
                customers=evaluation.test_customers,
                fitted_at=now,
            )
        )
    ModelFit.objects.bulk_create(fits)


def _churn_due(now: dt.datetime) -> bool:
    """The churn classifier is retrained weekly: its out-of-time training reads the whole order
    history twice more, and behaviour shifts slowly. In between, the stored model scores."""
    latest = ModelFit.objects.filter(kind=ModelFit.Kind.CHURN).values_list("fitted_at", flat=True).first()
    return latest is None or now - latest >= CHURN_RETRAIN_AFTER or now < latest


def fit_sample(size: int) -> NDArray[np.int64] | slice:
    if size <= BGNBD_SAMPLE:
        return slice(None)
    return np.array(sorted(random.Random(size).sample(range(size), BGNBD_SAMPLE)), dtype=np.int64)


def _fit_row(kind: str, result: clv.FitResult, now: dt.datetime) -> ModelFit:
    return ModelFit(
        kind=kind,
        params=result.params,
        quality={"log_likelihood": result.log_likelihood, "iterations": result.iterations},
        customers=result.customers,
        fitted_at=now,
    )


# Running ----------------------------------------------------------------------------------------


def recompute_all(*, now: dt.datetime | None = None) -> RunResult:
    """Refit every model and rewrite every customer's metrics."""
    return _run(None, now or timezone.now(), refit=True)


def recompute_customers(customer_ids: Sequence[int], *, now: dt.datetime | None = None) -> RunResult:
    """Rewrite these customers' metrics with the stored fits. Before the first full run there is
    nothing to score against (RFM quintiles are the population's), so nothing is written: one
    query, which keeps the listener cheap for every profile change."""
    if not ModelFit.objects.filter(kind=ModelFit.Kind.RFM).exists():
        return RunResult(0, 0, False, 0.0)
    return _run(sorted(set(customer_ids)), now or timezone.now(), refit=False)


def _run(customer_ids: list[int] | None, now: dt.datetime, *, refit: bool) -> RunResult:
    started = dt.datetime.now(dt.UTC)
    categories = _categories_alongside(now, customer_ids)
    customers = Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    all_ids = np.array(customers.order_by("pk").values_list("pk", flat=True), dtype=np.int64)
    summary = purchase_summary(now, customer_ids)
    with transaction.atomic():
        if refit:
            _refit(summary, now)
        rows = _score(summary, all_ids, now, categories())
        _upsert(rows)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return RunResult(int(all_ids.size), int(summary.customer_ids.size), refit, seconds)


def _categories_alongside(now: dt.datetime, customer_ids: list[int] | None) -> Callable[[], dict[int, int]]:
    """The preferred categories, as a call that returns them.

    A full run on PostgreSQL starts the query at once on a thread of its own (with its own
    connection): it joins every order line to its order and is the longest query of the run, and
    the server's second core runs it while this one aggregates, fits and scores. Otherwise (SQLite,
    a few customers, or inside a caller's transaction, whose rows another connection cannot see)
    the query runs when the result is asked for.
    """
    if customer_ids is not None or connection.vendor != "postgresql" or connection.in_atomic_block:
        return lambda: preferred_categories(now, customer_ids)

    def query() -> dict[int, int]:
        try:
            return preferred_categories(now, None)
        finally:
            connection.close()  # this thread's own connection

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preferred-categories")
    future = pool.submit(query)
    pool.shutdown(wait=False)
    return future.result


# What a customer who has not bought gets (the columns not named here are NULL).
NOT_BOUGHT: dict[str, Any] = {
    "orders": 0,
    "purchase_days": 0,
    "monetary": "0.00",
    "average_order_value": "0.00",
    "rfm_segment": "",
    "lifecycle_stage": LifecycleStage.POTENTIAL.value,
    "value_tier": "",
    "price_sensitivity": "",
}


def _score(
    summary: PurchaseSummary, all_ids: NDArray[np.int64], now: dt.datetime, categories: dict[int, int]
) -> dict[str, list[Any]]:
    """Every column of :data:`COLUMNS` for every customer of ``all_ids`` (ascending), as lists of
    Python values (None for NULL): buyers scored from the summary, the others as potential
    customers. Built column by column, so a million customers cost numpy work, not a loop."""
    rfm = _latest(ModelFit.Kind.RFM) or {}
    recency = summary.recency_days()
    r = scores(-recency, rfm.get("recency", []))
    f = scores(summary.purchase_days, rfm.get("frequency", []))
    share = np.divide(
        summary.discount, summary.subtotal, out=np.zeros_like(summary.discount), where=summary.subtotal > 0
    )
    clv_12m, p_alive, expected_90, next_order = _clv_scores(summary, now)
    churn_probability = _churn_scores(summary)
    bought: dict[str, Any] = {
        "orders": summary.orders.astype(np.int64),
        "purchase_days": summary.purchase_days.astype(np.int64),
        "first_order_at": _moments(summary.first_seconds),
        "last_order_at": _moments(summary.last_seconds),
        "recency_days": np.maximum(recency, 0).astype(np.int64),
        "monetary": _cents(summary.net_spent),
        "average_order_value": _cents(summary.net_spent / np.maximum(summary.orders, 1)),
        "r_score": r,
        "f_score": f,
        "m_score": scores(summary.net_spent, rfm.get("monetary", [])),
        "rfm_segment": rfm_segments(r, f),
        "lifecycle_stage": lifecycle_stages(summary.orders, recency, summary.tenure_days()),
        "value_tier": value_tiers(summary.net_spent, rfm.get("value_tiers", [])),
        "preferred_category_id": [categories.get(pk) for pk in summary.customer_ids.tolist()],
        "discount_share": np.round(share, 4),
        "price_sensitivity": price_sensitivity(share),
        "clv_12m": None if clv_12m is None else _cents(clv_12m),
        "p_alive": None if p_alive is None else np.round(p_alive, 4),
        "expected_purchases_90d": None if expected_90 is None else np.round(expected_90, 4),
        "expected_next_order_on": next_order,
        "churn_probability": None if churn_probability is None else np.round(churn_probability, 4),
    }
    known = np.isin(summary.customer_ids, all_ids)  # a customer created since the ids were read waits
    rows = np.searchsorted(all_ids, summary.customer_ids[known])
    columns: dict[str, list[Any]] = {"customer_id": all_ids.tolist(), "computed_at": [now] * all_ids.size}
    for name, values in bought.items():
        column = np.full(all_ids.size, NOT_BOUGHT.get(name), dtype=object)
        if values is not None:
            column[rows] = np.asarray(values, dtype=object)[known]  # Python ints, floats, str
        columns[name] = column.tolist()
    return columns


def _moments(seconds: FloatArray) -> NDArray[np.str_]:
    """Epoch seconds as UTC moments exact to the microsecond the database stored, written the way
    Django stores them on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff"), which PostgreSQL reads as UTC (the
    session's zone). numpy formats a million of them in a fraction of a second; an empty array (a
    recompute of customers none of whom has bought) is answered as such, since ``np.char.replace``
    fails on one."""
    if seconds.size == 0:
        return np.empty(0, dtype="U26")
    microseconds = np.round(seconds * 1e6).astype("datetime64[us]")
    return np.char.replace(np.datetime_as_string(microseconds, unit="us"), "T", " ")


def _cents(values: FloatArray) -> list[str]:
    """Amounts as exact decimal text (the database reads them into its decimal columns)."""
    return [f"{v:.2f}" for v in values.tolist()]


def _clv_scores(
    summary: PurchaseSummary, now: dt.datetime
) -> tuple[FloatArray | None, FloatArray | None, FloatArray | None, list[dt.date | None] | None]:
    bgnbd = _latest(ModelFit.Kind.BGNBD)
    if bgnbd is None or summary.customer_ids.size == 0:
        return None, None, None, None
    frequency, recency, age = bgnbd_inputs(summary)
    p_alive = clv.bgnbd_probability_alive(bgnbd, frequency, recency, age)
    expected_90 = clv.bgnbd_expected_purchases(bgnbd, 90 / WEEK_DAYS, frequency, recency, age)
    expected_year = clv.bgnbd_expected_purchases(bgnbd, CLV_WEEKS, frequency, recency, age)
    gamma = _latest(ModelFit.Kind.GAMMA_GAMMA)
    clv_12m = None
    if gamma is not None:
        days = summary.purchase_days
        spend = clv.gamma_gamma_expected_spend(
            gamma, np.where(days >= 2, days, 0), np.divide(summary.net_spent, np.maximum(days, 1))
        )
        clv_12m = expected_year * spend
    # The expected wait for the next order at the customer's expected rate over the next 90 days.
    wait_days = np.divide(90.0, expected_90, out=np.full_like(expected_90, np.inf), where=expected_90 > 0)
    today = now.date()
    next_order = [
        today + dt.timedelta(days=int(np.ceil(w))) if w <= NEXT_ORDER_MAX_DAYS else None for w in wait_days.tolist()
    ]
    return clv_12m, p_alive, expected_90, next_order


def _churn_scores(summary: PurchaseSummary) -> FloatArray | None:
    params = _latest(ModelFit.Kind.CHURN)
    model = churn.ChurnModel.from_params(params) if params else None
    if model is None or summary.customer_ids.size == 0:
        return None
    return model.probability(churn.features(summary))


# Writing -----------------------------------------------------------------------------------------

COLUMNS = (
    "customer_id",
    "computed_at",
    "orders",
    "purchase_days",
    "first_order_at",
    "last_order_at",
    "recency_days",
    "monetary",
    "average_order_value",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "lifecycle_stage",
    "value_tier",
    "preferred_category_id",
    "discount_share",
    "price_sensitivity",
    "clv_12m",
    "p_alive",
    "expected_purchases_90d",
    "expected_next_order_on",
    "churn_probability",
)


def _upsert(columns: dict[str, list[Any]]) -> int:
    """Insert or overwrite the rows: COPY into a temporary table then one ``INSERT … ON CONFLICT``
    on PostgreSQL; ``executemany`` of the same upsert in batches on SQLite. Returns the count."""
    quote = connection.ops.quote_name
    table = quote(CustomerMetrics._meta.db_table)
    names = ", ".join(quote(c) for c in COLUMNS)
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in COLUMNS[1:])
    conflict = f"ON CONFLICT ({quote('customer_id')}) DO UPDATE SET {updates}"
    count = len(columns["customer_id"])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE metrics_load (LIKE {table}) ON COMMIT DROP")
            text = [_copy_text(columns[name]) for name in COLUMNS]
            with cursor.cursor.copy(f"COPY metrics_load ({names}) FROM STDIN") as copy:
                for start in range(0, count, COPY_CHUNK):
                    chunk = (column[start : start + COPY_CHUNK] for column in text)
                    copy.write("".join(f"{line}\n" for line in map("\t".join, zip(*chunk, strict=True))))
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM metrics_load {conflict}")  # noqa: S608
            cursor.execute("DROP TABLE metrics_load")
            return count
        adapt = connection.ops.adapt_datetimefield_value
        stamped = {**columns, "computed_at": [adapt(value) for value in columns["computed_at"]]}
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) {conflict}"  # noqa: S608
        rows = zip(*(stamped[name] for name in COLUMNS), strict=True)
        while batch := list(itertools.islice(rows, 5000)):
            cursor.executemany(sql, batch)
    return count


COPY_CHUNK = 100_000  # rows formatted at a time for COPY


def _copy_text(values: list[Any]) -> list[str]:
    """A column in COPY's text format. The values are numbers, dates, times and the choices' codes,
    none of which holds a tab, a newline or a backslash, so nothing needs escaping."""
    if None not in values:
        return list(map(str, values))
    return [r"\N" if value is None else str(value) for value in values]
