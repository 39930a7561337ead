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
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.db import connection, models, transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

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

    @cached_property
    def content(self) -> sp.csr_matrix:
        """Content vectors (cutting every product's text into words is slow: done once a run)."""
        return engine.content_vectors(self.categories, self.brands, self.texts)


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
    warm = np.flatnonzero(touched)
    for start in range(0, len(warm), 2000):
        chunk = warm[start : start + 2000]
        found, _scores = engine.nearest(catalogue.content, chunk, cold, 1)
        out[chunk] = found[:, 0]
    return out


def _last_bought(fitted: Fitted, feedback: Feedback) -> np.ndarray:
    """Each customer row's most recently bought product (-1: none)."""
    purchase = np.flatnonzero(feedback.orders > 0)
    order = purchase[np.argsort(feedback.times[purchase], kind="stable")]
    last = np.full(len(fitted.users), -1, dtype=np.int64)
    last[np.searchsorted(fitted.users, feedback.users[order])] = feedback.items[order]
    return last


def _list_pieces(
    products: np.ndarray, scores: np.ndarray, reasons: np.ndarray, because: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """The stored lists of a block of customers as text pieces, one row per customer: joined, a row is
    ``{"products":[...],"scores":[...],"reasons":[...],"because":[...]}`` exactly as ``json.dumps``
    writes it. Every argument but ``lengths`` is a (customers × slots) object array of ready-made
    JSON values; a row's first ``lengths`` slots are its list. Built column by column on arrays
    (empty strings for unused slots), so nothing runs in Python per customer."""
    customers, slots = products.shape
    used = np.arange(slots)[None, :] < lengths[:, None]
    comma = np.where(used[:, 1:], ",", "")
    columns: list[np.ndarray] = []
    for label, values in (('{"products":[', products), ('],"scores":[', scores), ('],"reasons":[', reasons)):
        columns += _joined(label, values, used, comma)
    columns += _joined('],"because":[', because, used, comma)
    columns.append(np.full(customers, "]}", dtype=object))
    return np.stack(columns, axis=1)


def _joined(label: str, values: np.ndarray, used: np.ndarray, comma: np.ndarray) -> list[np.ndarray]:
    shown = np.where(used, values, "")
    out = [np.full(len(values), label, dtype=object), shown[:, 0]]
    for slot in range(1, values.shape[1]):
        out += [comma[:, slot - 1], shown[:, slot]]
    return out


def _json_numbers(values: np.ndarray) -> np.ndarray:
    """Each number as json.dumps writes it, as an object array of the same shape (one str per
    distinct value: scores are rounded to 4 places, so there are few)."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([repr(v) for v in distinct.tolist()], dtype=object)[inverse].reshape(values.shape)


def _insert_lists(customers: np.ndarray, pieces: np.ndarray, now: dt.datetime) -> None:
    """A block of lists in one statement: COPY on PostgreSQL (the rows joined into one text in C),
    executemany elsewhere (set-based, no ORM rows)."""
    table = Recommendation._meta.db_table
    ids = customers.astype(str).astype(object)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            stamp = np.full(len(ids), f"\t{now.isoformat()}\n", dtype=object)
            rows = np.column_stack([ids, np.full(len(ids), "\t", dtype=object), pieces, stamp])
            with cursor.copy(f"COPY {table} (customer_id, items, computed_at) FROM STDIN") as copy:
                copy.write("".join(rows.ravel().tolist()))
        else:
            sql = f"INSERT INTO {table} (customer_id, items, computed_at) VALUES (%s, %s, %s)"  # noqa: S608
            cursor.executemany(
                sql, [(c, "".join(row), now) for c, row in zip(ids.tolist(), pieces.tolist(), strict=True)]
            )


def write_recommendations(fitted: Fitted, feedback: Feedback, catalogue: Catalogue, now: dt.datetime) -> int:
    """Every customer's candidates: ALS with the reason's product, then the content match among
    products nobody has touched to the customer's latest purchase (scored as the list's lowest).

    A block of customers at a time on arrays: scoring, reasons, and the stored text."""
    vectors = engine.unit_rows(np.asarray(fitted.model.item_factors))
    cold = cold_neighbours(fitted, catalogue)
    last = _last_bought(fitted, feedback)
    ids = np.append(catalogue.ids, 0)  # position -1 reads as product 0: none
    id_text = ids.astype(str).astype(object)
    reason_text = {flag: json.dumps(str(Reason.BOUGHT if flag else Reason.VIEWED)) for flag in (False, True)}
    similar_text = json.dumps(str(Reason.SIMILAR))
    Recommendation.objects.all().delete()
    for start in range(0, len(fitted.users), BATCH * 4):
        rows = np.arange(start, min(start + BATCH * 4, len(fitted.users)))
        items, scores = engine.recommend(fitted.model, rows, fitted.hidden, CANDIDATES - 1)
        because, was_bought = engine.reasons(rows, items, fitted.bought, fitted.matrix, vectors)
        counts = (items >= 0).sum(axis=1)
        rounded = np.round(scores.astype(np.float64), 4)
        # the content match goes in the slot after the list, when the customer bought anything
        extra = np.where(last[rows] >= 0, cold[last[rows]], -1)
        has_extra = extra >= 0
        lowest = np.where(counts > 0, np.where(items >= 0, rounded, np.inf).min(axis=1), 0.0)
        slots = np.arange(CANDIDATES)[None, :]
        at_extra = has_extra[:, None] & (slots == counts[:, None])
        products = np.where(at_extra, extra[:, None], np.pad(items, ((0, 0), (0, 1)), constant_values=-1))
        reasons = np.where(was_bought[:, :1], reason_text[True], reason_text[False]).astype(object)
        reasons = np.where(at_extra, similar_text, np.broadcast_to(reasons, products.shape)).astype(object)
        pieces = _list_pieces(
            id_text[products],
            _json_numbers(np.where(at_extra, lowest[:, None], np.pad(rounded, ((0, 0), (0, 1))))),
            reasons,
            id_text[np.where(at_extra, last[rows][:, None], np.pad(because, ((0, 0), (0, 1)), constant_values=-1))],
            counts + has_extra,
        )
        _insert_lists(fitted.users[rows], pieces, now)
    return len(fitted.users)


def write_related(fitted: Fitted, feedback: Feedback, catalogue: Catalogue) -> int:
    """Frequently bought together (association measures) and similar products (ALS item vectors;
    content for products nobody has touched), written from arrays with COPY."""
    ids = catalogue.ids
    purchase = feedback.orders > 0
    pairs = engine.bought_together(feedback.orders[purchase], feedback.items[purchase], len(ids))
    rank = np.arange(len(pairs.a)) - np.searchsorted(pairs.a, pairs.a, side="left")
    similar = []
    touched = np.flatnonzero(np.asarray(fitted.matrix.sum(axis=0)).ravel() > 0)
    if len(touched):
        with threadpool_limits(1, "blas"):  # implicit's threads run the batches
            found, scores = fitted.model.similar_items(touched, N=RELATED + 1, items=touched)
        found = np.asarray(found).reshape(len(touched), -1)
        similar.append(_ranked(touched, found, np.asarray(scores).reshape(found.shape), found != touched[:, None]))
    cold = np.setdiff1d(np.arange(len(ids)), touched)
    if len(cold):
        found, scores = engine.nearest(catalogue.content, cold, np.arange(len(ids)), RELATED)
        similar.append(_ranked(cold, found, scores, np.ones(found.shape, dtype=bool)))
    RelatedProduct.objects.all().delete()
    count = _insert_related(
        RelatedProduct.Kind.TOGETHER,
        ids[pairs.a],
        ids[pairs.b],
        rank,
        pairs.confidence,  # the score is the rule's confidence
        pairs.support,
        pairs.confidence,
        pairs.lift,
    )
    for source, related, ranks, values in similar:
        nothing = np.full(len(source), np.nan)
        count += _insert_related(RelatedProduct.Kind.SIMILAR, ids[source], ids[related], ranks, values, *[nothing] * 3)
    return count


def _ranked(
    sources: np.ndarray, found: np.ndarray, scores: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each source's first ``RELATED`` found products that ``keep`` marks (and that exist), ranked
    from 0 in their order: (source, related, rank, score) as flat arrays."""
    keep = keep & (found >= 0)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :RELATED]  # kept first, in their order
    kept = np.take_along_axis(keep, order, axis=1)
    row, slot = np.nonzero(kept)
    column = order[row, slot]
    return sources[row], found[row, column], slot, scores[row, column]


def _insert_related(kind: str, *columns: np.ndarray) -> int:
    """Related rows (product, related, rank, score, support, confidence, lift; NaN for none) in one
    COPY on PostgreSQL, executemany elsewhere."""
    table = RelatedProduct._meta.db_table
    names = "product_id, related_id, kind, rank, score, support, confidence, lift"
    whole = [np.asarray(c, dtype=np.int64) for c in columns[:3]]
    measures = [np.asarray(c, dtype=np.float64) for c in columns[3:]]
    size = len(whole[0])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            texts = [c.astype(str).astype(object) for c in whole]
            texts.insert(2, np.full(size, str(kind), dtype=object))
            texts += [np.where(np.isnan(m), "\\N", m.astype(str)).astype(object) for m in measures]
            tab = np.full(size, "\t", dtype=object)
            rows = np.column_stack([part for text in texts for part in (text, tab)])
            rows[:, -1] = "\n"
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write("".join(rows.ravel().tolist()))
        else:
            numbers = [c.tolist() for c in whole] + [
                [None if v != v else v for v in m.tolist()] for m in measures
            ]  # NaN: NULL
            sql = f"INSERT INTO {table} ({names}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
            cursor.executemany(sql, [(p, r, str(kind), k, *m) for p, r, k, *m in zip(*numbers, strict=True)])
    return size


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
    names, by_city = _cities(users)
    grouped = np.argsort(by_city, kind="stable")
    bounds = np.searchsorted(by_city[grouped], np.arange(len(names) + 1))
    for code, city in enumerate(names):
        mine = items[grouped[bounds[code] : bounds[code + 1]]]
        if len(mine) >= 20:  # a city needs enough purchases to say what is popular there
            order = engine.popularity(mine, np.ones(len(mine)), len(catalogue.ids))[:CANDIDATES]
            lists[city] = [int(catalogue.ids[i]) for i in order]
    return lists


def _cities(users: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The city names (sorted) and each of ``users``' city as an index into them, -1 for none.
    Every customer's city is read in one pass: a filter on a million buyers' ids would be a
    million query parameters."""
    rows = Customer.objects.exclude(city="").values_list("pk", "city").order_by("pk")
    pks, cities = [], []
    for pk, city in rows.iterator(chunk_size=20_000):
        pks.append(pk)
        cities.append(city)
    if not pks:
        return [], np.full(len(users), -1, dtype=np.int64)
    known = np.array(pks, dtype=np.int64)
    names, codes = np.unique(np.array(cities, dtype=object), return_inverse=True)
    at = np.minimum(np.searchsorted(known, users), len(known) - 1)
    return [str(n) for n in names], np.where(known[at] == users, codes.ravel()[at], -1)


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
