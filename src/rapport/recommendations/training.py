"""The scheduled training: read purchases and behaviour in bulk, fit the models, write every
customer's candidates, the related products and the popularity lists, and backtest.

Reads are set-based (one SQL query for order lines, one pass over product events) and writes are
bulk inserts, so the run scales to millions of order lines (benchmarks/recommend_bench.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.db import connection, models, transaction
from django.utils import timezone

from rapport.commerce.models import COUNTED_STATUSES, Order, OrderLine, Product
from rapport.customers.models import Customer
from rapport.events.queries import product_events
from rapport.recommendations import engine
from rapport.recommendations.models import Reason, Recommendation, RelatedProduct, Rule, TrainingRun

CANDIDATES = 30  # kept per customer; lists asked for are at most 20 after filtering
RELATED = 10
EVENTS_DAYS = 180
POPULAR_DAYS = 90
BACKTEST_DAYS = 30
BATCH = 5000
EVENT_WEIGHTS = {"Product Viewed": engine.VIEW_WEIGHT, "Product Added": engine.CART_WEIGHT}


@dataclass
class Catalogue:
    ids: np.ndarray  # product ids, sorted: a product's position is its index
    categories: list[str]
    brands: list[str]
    texts: list[str]
    repeatable: np.ndarray

    def positions(self, product_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ids, product_ids)


@dataclass
class Feedback:
    users: np.ndarray
    items: np.ndarray  # positions
    times: np.ndarray
    weights: np.ndarray
    orders: np.ndarray  # order id, 0 for events


def load_catalogue() -> Catalogue:
    repeat_categories = set(
        Rule.objects.filter(kind=Rule.Kind.REPEAT, category__isnull=False).values_list("category_id", flat=True)
    )
    repeat_products = set(
        Rule.objects.filter(kind=Rule.Kind.REPEAT, product__isnull=False).values_list("product_id", flat=True)
    )
    rows = list(
        Product.objects.order_by("pk").values_list(
            "pk", "category_id", "category__code", "brand", "name", "description"
        )
    )
    return Catalogue(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        categories=[r[2] or "" for r in rows],
        brands=[r[3] for r in rows],
        texts=[f"{r[4]} {r[5]}" for r in rows],
        repeatable=np.array([r[1] in repeat_categories or r[0] in repeat_products for r in rows], dtype=bool),
    )


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def load_purchases() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, product id, order id, placed at in seconds) of every counted order line."""
    sql = (
        f"SELECT o.customer_id, l.product_id, l.order_id, {_epoch('o.placed_at')} "  # noqa: S608 (table names only)
        f"FROM {OrderLine._meta.db_table} l JOIN {Order._meta.db_table} o ON o.id = l.order_id "
        f"WHERE o.customer_id IS NOT NULL AND l.product_id IS NOT NULL "
        f"AND o.status IN ({', '.join(['%s'] * len(COUNTED_STATUSES))})"
    )
    chunks = [np.zeros((0, 4), dtype=np.int64)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(s) for s in COUNTED_STATUSES])
        while chunk := cursor.fetchmany(100_000):
            chunks.append(np.array(chunk, dtype=np.int64))
    rows = np.concatenate(chunks)
    return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]


def load_feedback(catalogue: Catalogue, now: dt.datetime) -> Feedback:
    customers, products, orders, times = load_purchases()
    known = np.isin(products, catalogue.ids)
    users, items = [customers[known]], [catalogue.positions(products[known])]
    stamps, weights = [times[known]], [np.full(known.sum(), engine.PURCHASE_WEIGHT)]
    order_ids = [orders[known]]
    position = {int(pid): i for i, pid in enumerate(catalogue.ids)}
    sku_ids = dict(Product.objects.values_list("sku", "pk"))
    events = [
        (cid, position[sku_ids[sku]], at.timestamp(), EVENT_WEIGHTS[name])
        for cid, name, sku, at in product_events(now - dt.timedelta(days=EVENTS_DAYS))
        if sku in sku_ids and sku_ids[sku] in position
    ]
    if events:
        columns = list(zip(*events, strict=True))
        users.append(np.array(columns[0], dtype=np.int64))
        items.append(np.array(columns[1], dtype=np.int64))
        stamps.append(np.array(columns[2], dtype=np.int64))
        weights.append(np.array(columns[3], dtype=np.float64))
        order_ids.append(np.zeros(len(events), dtype=np.int64))
    return Feedback(*(np.concatenate(parts) for parts in (users, items, stamps, weights, order_ids)))


def history(feedback: Feedback, catalogue: Catalogue) -> engine.History:
    return engine.History(
        users=feedback.users,
        items=feedback.items,
        times=feedback.times.astype(np.float64),
        weights=feedback.weights,
        is_purchase=feedback.orders > 0,
        n_items=len(catalogue.ids),
        repeatable=catalogue.repeatable,
    )


@dataclass
class Fitted:
    users: np.ndarray  # customer ids, a customer's row is its index
    matrix: sp.csr_matrix
    bought: sp.csr_matrix
    hidden: sp.csr_matrix  # durable purchases: never recommended again
    model: Any  # implicit.cpu.als.AlternatingLeastSquares


def fit(feedback: Feedback, catalogue: Catalogue) -> Fitted:
    users, rows = np.unique(feedback.users, return_inverse=True)
    shape = (len(users), len(catalogue.ids))
    purchase = feedback.orders > 0
    durable = purchase & ~catalogue.repeatable[feedback.items]
    return Fitted(
        users=users,
        matrix=engine.feedback_matrix(rows, feedback.items, feedback.weights, shape),
        bought=engine.feedback_matrix(rows[purchase], feedback.items[purchase], np.ones(purchase.sum()), shape),
        hidden=engine.feedback_matrix(rows[durable], feedback.items[durable], np.ones(durable.sum()), shape),
        model=engine.train_als(engine.feedback_matrix(rows, feedback.items, feedback.weights, shape)),
    )


def cold_neighbours(fitted: Fitted, catalogue: Catalogue) -> np.ndarray:
    """For each product, the product nobody has touched yet that is most like it in content (-1: none)."""
    touched = np.asarray(fitted.matrix.sum(axis=0)).ravel() > 0
    cold = np.flatnonzero(~touched)
    out = np.full(len(catalogue.ids), -1, dtype=np.int64)
    if len(cold) == 0:
        return out
    vectors = engine.content_vectors(catalogue.categories, catalogue.brands, catalogue.texts)
    warm = np.flatnonzero(touched)
    for start in range(0, len(warm), 2000):
        chunk = warm[start : start + 2000]
        found, _scores = engine.nearest(vectors, chunk, cold, 1)
        out[chunk] = found[:, 0]
    return out


def _last_bought(fitted: Fitted, feedback: Feedback) -> np.ndarray:
    """Each customer row's most recently bought product (-1: none)."""
    purchase = np.flatnonzero(feedback.orders > 0)
    order = purchase[np.argsort(feedback.times[purchase], kind="stable")]
    last = np.full(len(fitted.users), -1, dtype=np.int64)
    last[np.searchsorted(fitted.users, feedback.users[order])] = feedback.items[order]
    return last


def _list_json(products: list[int], scores: list[float], reasons: list[str], because: list[int]) -> str:
    return json.dumps(
        {"products": products, "scores": scores, "reasons": reasons, "because": because}, separators=(",", ":")
    )


def _insert_lists(rows: list[tuple[int, str]], now: dt.datetime) -> None:
    """Many lists per statement: COPY on PostgreSQL, executemany elsewhere (set-based, no ORM rows)."""
    table = Recommendation._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            stamp = now.isoformat()
            with cursor.copy(f"COPY {table} (customer_id, items, computed_at) FROM STDIN") as copy:
                copy.write("".join(f"{customer}\t{text}\t{stamp}\n" for customer, text in rows))
        else:
            sql = f"INSERT INTO {table} (customer_id, items, computed_at) VALUES (%s, %s, %s)"  # noqa: S608
            cursor.executemany(sql, [(customer, text, now) for customer, text in rows])


def write_recommendations(fitted: Fitted, feedback: Feedback, catalogue: Catalogue, now: dt.datetime) -> int:
    """Every customer's candidates: ALS with the reason's product, then the content match among
    products nobody has touched to the customer's latest purchase."""
    vectors = engine.unit_rows(np.asarray(fitted.model.item_factors))
    cold = cold_neighbours(fitted, catalogue)
    last = _last_bought(fitted, feedback)
    ids = np.append(catalogue.ids, 0)  # position -1 reads as product 0: none
    Recommendation.objects.all().delete()
    for start in range(0, len(fitted.users), BATCH * 4):
        rows = np.arange(start, min(start + BATCH * 4, len(fitted.users)))
        items, scores = engine.recommend(fitted.model, rows, fitted.hidden, CANDIDATES - 1)
        because, was_bought = engine.reasons(rows, items, fitted.bought, fitted.matrix, vectors)
        counts = (items >= 0).sum(axis=1).tolist()
        products, because_ids = ids[items].tolist(), ids[because].tolist()
        rounded = np.round(scores.astype(np.float64), 4).tolist()
        extra = cold[last[rows]]
        batch = []
        for i, row in enumerate(rows.tolist()):
            n = counts[i]
            mine, mine_scores, mine_because = products[i][:n], rounded[i][:n], because_ids[i][:n]
            reasons = [str(Reason.BOUGHT if was_bought[i, 0] else Reason.VIEWED)] * n
            if last[row] >= 0 and extra[i] >= 0:
                mine_scores.append(min(mine_scores, default=0.0))
                mine.append(int(ids[extra[i]]))
                reasons.append(str(Reason.SIMILAR))
                mine_because.append(int(ids[last[row]]))
            text = _list_json(mine, mine_scores, reasons, mine_because)
            batch.append((int(fitted.users[row]), text))
        _insert_lists(batch, now)
    return len(fitted.users)


def write_related(fitted: Fitted, feedback: Feedback, catalogue: Catalogue) -> int:
    """Frequently bought together (association measures) and similar products (ALS item vectors;
    content for products nobody has touched)."""
    ids = catalogue.ids
    purchase = feedback.orders > 0
    pairs = engine.bought_together(feedback.orders[purchase], feedback.items[purchase], len(ids))
    rows: list[RelatedProduct] = []
    rank = np.arange(len(pairs.a)) - np.searchsorted(pairs.a, pairs.a, side="left")
    for a, b, r, support, confidence, lift in zip(
        pairs.a, pairs.b, rank, pairs.support, pairs.confidence, pairs.lift, strict=True
    ):
        rows.append(
            RelatedProduct(
                product_id=int(ids[a]),
                related_id=int(ids[b]),
                kind=RelatedProduct.Kind.TOGETHER,
                rank=int(r),
                score=float(confidence),
                support=float(support),
                confidence=float(confidence),
                lift=float(lift),
            )
        )
    touched = np.flatnonzero(np.asarray(fitted.matrix.sum(axis=0)).ravel() > 0)
    if len(touched):
        similar, scores = fitted.model.similar_items(touched, N=RELATED + 1, items=touched)
        for source, found, values in zip(touched, np.asarray(similar), np.asarray(scores), strict=True):
            kept = [(f, v) for f, v in zip(found, values, strict=True) if f != source and f >= 0][:RELATED]
            rows.extend(
                RelatedProduct(
                    product_id=int(ids[source]),
                    related_id=int(ids[f]),
                    kind=RelatedProduct.Kind.SIMILAR,
                    rank=r,
                    score=float(v),
                )
                for r, (f, v) in enumerate(kept)
            )
    cold = np.setdiff1d(np.arange(len(ids)), touched)
    if len(cold):
        vectors = engine.content_vectors(catalogue.categories, catalogue.brands, catalogue.texts)
        found, scores = engine.nearest(vectors, cold, np.arange(len(ids)), RELATED)
        for source, near, values in zip(cold, found, scores, strict=True):
            rows.extend(
                RelatedProduct(
                    product_id=int(ids[source]),
                    related_id=int(ids[f]),
                    kind=RelatedProduct.Kind.SIMILAR,
                    rank=r,
                    score=float(v),
                )
                for r, (f, v) in enumerate((f, v) for f, v in zip(near, values, strict=True) if f >= 0)
            )
    RelatedProduct.objects.all().delete()
    RelatedProduct.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def popular_lists(feedback: Feedback, catalogue: Catalogue, now: dt.datetime) -> dict[str, list[int]]:
    """The most bought products of the last 90 days, overall ("") and in each customer city."""
    recent = (feedback.orders > 0) & (feedback.times >= (now - dt.timedelta(days=POPULAR_DAYS)).timestamp())
    if not recent.any():
        recent = feedback.orders > 0
    items, users = feedback.items[recent], feedback.users[recent]
    lists = {
        "": [
            int(catalogue.ids[i])
            for i in engine.popularity(items, np.ones(len(items)), len(catalogue.ids))[:CANDIDATES]
        ]
    }
    cities = dict(Customer.objects.filter(pk__in=np.unique(users).tolist()).exclude(city="").values_list("pk", "city"))
    by_city = np.array([cities.get(int(u), "") for u in users])
    for city in sorted(set(cities.values())):
        mine = by_city == city
        if mine.sum() >= 20:  # a city needs enough purchases to say what is popular there
            order = engine.popularity(items[mine], np.ones(mine.sum()), len(catalogue.ids))[:CANDIDATES]
            lists[city] = [int(catalogue.ids[i]) for i in order]
    return lists


def run_backtest(feedback: Feedback, catalogue: Catalogue) -> dict[str, object]:
    purchases = feedback.times[feedback.orders > 0]
    if len(purchases) == 0:
        return {}
    cutoff = float(purchases.max()) - BACKTEST_DAYS * 86400
    return engine.backtest(history(feedback, catalogue), cutoff, horizon_days=BACKTEST_DAYS)


def _analyze(*models: type[models.Model]) -> None:
    """Fresh planner statistics for the tables just replaced. With the statistics of the emptied
    tables PostgreSQL answered a product's related rows by hashing the whole catalogue (7.7 ms of
    its CPU a request, docs/benchmarks.md) until autovacuum came round to them."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def train(
    *, now: dt.datetime | None = None, backtest: bool = True, say: Callable[[str], None] = lambda m: None
) -> TrainingRun:
    """Refit everything and replace the stored lists in one transaction; keep the run and its backtest."""
    started = time.monotonic()
    now = now or timezone.now()
    catalogue = load_catalogue()
    feedback = load_feedback(catalogue, now)
    say(f"read {len(feedback.users)} interactions, {len(catalogue.ids)} products ({time.monotonic() - started:.1f} s)")
    if len(feedback.users) == 0:
        return TrainingRun.objects.create(
            trained_at=now, products=len(catalogue.ids), seconds=time.monotonic() - started
        )
    fitted = fit(feedback, catalogue)
    say(f"ALS fitted on {len(fitted.users)} customers ({time.monotonic() - started:.1f} s)")
    with transaction.atomic():
        customers = write_recommendations(fitted, feedback, catalogue, now)
        say(f"lists written for {customers} customers ({time.monotonic() - started:.1f} s)")
        write_related(fitted, feedback, catalogue)
        run = TrainingRun.objects.create(
            trained_at=now,
            customers=customers,
            products=len(catalogue.ids),
            interactions=len(feedback.users),
            popular=popular_lists(feedback, catalogue, now),
        )
    _analyze(Recommendation, RelatedProduct)
    if backtest:
        run.backtest = run_backtest(feedback, catalogue)
        say(f"backtest {run.backtest.get('als')} vs popularity {run.backtest.get('popularity')}")
    run.seconds = round(time.monotonic() - started, 1)
    run.save(update_fields=["backtest", "seconds"])
    return run
