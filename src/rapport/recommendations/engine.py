"""The recommendation models on plain arrays, free of Django, so that training, the backtest and
the benchmark run the same code.

* collaborative filtering: ``implicit``'s ALS over a customer × product matrix of purchases
  (weight 1 a line), cart adds (0.3) and product views (0.1);
* content similarity (category, brand, the name and description cut into words by jieba) for
  products nobody has bought or looked at yet;
* popularity, overall and per city, for customers with no history;
* frequently bought together: pairs of products in one order, with support, confidence and lift.

Customers and products are positions 0..n-1 here; the caller maps them to ids.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

PURCHASE_WEIGHT = 1.0
CART_WEIGHT = 0.3
VIEW_WEIGHT = 0.1
# ALS reads the matrix as confidence: 1 + alpha × weight (Hu, Koren & Volinsky 2008). Alpha, the
# factors and the regularisation were chosen on the demo shop's backtest (docs/models.md).
ALPHA = 2.0

FILTERED = -1e30
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class AlsSettings:
    factors: int = 16
    iterations: int = 15
    regularization: float = 2.0
    seed: int = 7


@dataclass
class Lists:
    """Top-N products per customer row: positions (-1 = none), scores and the reason's product."""

    items: np.ndarray
    scores: np.ndarray
    because: np.ndarray
    because_bought: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def feedback_matrix(users: np.ndarray, items: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Customers × products, the weights of repeated interactions summed."""
    matrix = sp.csr_matrix((weights.astype(np.float32), (users, items)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


def train_als(matrix: sp.csr_matrix, settings: AlsSettings = AlsSettings(), threads: int = 0) -> Any:
    """Fit ALS on the feedback matrix (one BLAS thread: implicit parallelises itself)."""
    from implicit.cpu.als import AlternatingLeastSquares

    logging.getLogger("implicit").setLevel(logging.ERROR)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=settings.factors,
            iterations=settings.iterations,
            regularization=settings.regularization,
            random_state=settings.seed,
            num_threads=threads,
            calculate_training_loss=False,
        )
        confidence = matrix.copy()
        confidence.data = 1.0 + ALPHA * confidence.data
        model.fit(confidence, show_progress=False)
    return model


# Over-fetching instead of filtering: implicit filters a customer's own products one CSR row at a
# time in Python, which cost more than the scoring itself at a million customers. Asking for ``n``
# plus as many products as a customer has hidden and dropping those gives the same top ``n``;
# customers with more hidden products than the largest step go through implicit's filter.
_EXTRA_STEPS = (4, 16, 64, 256)


def recommend(
    model: Any, rows: np.ndarray, hidden: sp.csr_matrix, n: int, batch: int = 20_000
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` products for the customer ``rows``, never one ``hidden`` marks for that customer."""
    from implicit.cpu.topk import topk

    items = np.full((len(rows), n), -1, dtype=np.int64)
    scores = np.zeros((len(rows), n), dtype=np.float32)
    n_items = hidden.shape[1]
    n = min(n, n_items)  # implicit pads longer lists with product 0
    counts = np.diff(hidden.indptr)[rows]
    previous = -1
    with threadpool_limits(1, "blas"):  # implicit's threads run the batches; BLAS threads would oversubscribe
        for extra in _EXTRA_STEPS:
            step = np.flatnonzero((counts > previous) & (counts <= extra))
            previous = extra
            for start in range(0, len(step), batch):
                chunk = step[start : start + batch]
                wanted = min(n + extra, n_items)
                found, values = topk(
                    model.item_factors, model.user_factors[rows[chunk]], wanted, num_threads=model.num_threads
                )
                found, values = _drop_hidden(hidden, rows[chunk], found.astype(np.int64), values, n)
                items[chunk, : found.shape[1]] = found
                scores[chunk, : found.shape[1]] = values
        rest = np.flatnonzero(counts > previous)
        for start in range(0, len(rest), batch):
            chunk = rest[start : start + batch]
            found, values = model.recommend(rows[chunk], hidden[rows[chunk]], N=n, filter_already_liked_items=True)
            found = np.asarray(found).reshape(len(chunk), -1)
            values = np.asarray(values).reshape(len(chunk), -1)
            # filtered products come last, scored at the lowest float
            found = np.where(values > FILTERED, found, -1)
            items[chunk, : found.shape[1]] = found
            scores[chunk, : found.shape[1]] = np.where(found >= 0, values, 0.0)
    return items, scores


def _drop_hidden(
    hidden: sp.csr_matrix, rows: np.ndarray, found: np.ndarray, values: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` of each row's ranked products that ``hidden`` does not mark, -1 past the end."""
    n_items = hidden.shape[1]
    mine = hidden[rows]
    marked = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(mine.indptr)) * n_items + mine.indices
    keys = np.arange(len(rows), dtype=np.int64)[:, None] * n_items + found
    dropped = np.isin(keys, marked)
    order = np.argsort(dropped, axis=1, kind="stable")[:, :n]  # kept products first, in rank order
    kept = ~np.take_along_axis(dropped, order, axis=1)
    found = np.where(kept, np.take_along_axis(found, order, axis=1), -1)
    return found, np.where(kept, np.take_along_axis(values, order, axis=1), 0.0).astype(np.float32)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def reasons(
    rows: np.ndarray,
    items: np.ndarray,
    bought: sp.csr_matrix,
    seen: sp.csr_matrix,
    vectors: np.ndarray,
    block: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """For each recommended product, the customer's own product most like it (by the model's item
    vectors): what they bought when they bought anything, else what they looked at. Returns that
    product's position (-1 for none) and whether it was bought.

    Vectorised over a block of customers: every (own product, recommended product) pair of the block
    is scored at once and the best own product is a segmented argmax (the first on a tie, as a
    per-customer loop would pick)."""
    because = np.full(items.shape, -1, dtype=np.int64)
    from_purchase = np.diff(bought.indptr)[rows] > 0
    was_bought = np.zeros(items.shape, dtype=bool)
    for start in range(0, len(rows), block):
        part = slice(start, start + block)
        own = _own_products(rows[part], from_purchase[part], bought, seen)
        sizes = np.diff(own.indptr)
        if own.nnz == 0:
            continue
        wanted = items[part]
        owner = np.repeat(np.arange(len(sizes)), sizes)
        similarity = np.einsum("pd,pkd->pk", vectors[own.indices], vectors[np.maximum(wanted, 0)][owner])
        starts = own.indptr[:-1][sizes > 0]
        best = np.maximum.reduceat(similarity, starts, axis=0)
        filled = np.flatnonzero(sizes > 0)
        slot = np.full(len(sizes), -1, dtype=np.int64)
        slot[filled] = np.arange(len(filled))
        position = np.where(similarity == best[slot[owner]], np.arange(own.nnz)[:, None], own.nnz)
        first = np.minimum.reduceat(position, starts, axis=0)
        chosen = np.where(wanted[filled] >= 0, own.indices[first], -1)
        because[start + filled] = chosen
        was_bought[start + filled] = (chosen >= 0) & from_purchase[part][filled, None]
    return because, was_bought


def _own_products(rows: np.ndarray, from_purchase: np.ndarray, bought: sp.csr_matrix, seen: sp.csr_matrix) -> Any:
    """Each customer row's bought products, or the ones they looked at when they bought none."""
    keep_bought = sp.diags(from_purchase.astype(np.float32)) @ bought[rows]
    keep_seen = sp.diags((~from_purchase).astype(np.float32)) @ (seen[rows] > 0).astype(np.float32)
    own = (keep_bought + keep_seen).tocsr()
    own.eliminate_zeros()
    own.sort_indices()
    return own


def popularity(items: np.ndarray, weights: np.ndarray, n_items: int) -> np.ndarray:
    """Product positions, most bought first."""
    counts = np.bincount(items, weights=weights, minlength=n_items)
    return np.argsort(-counts, kind="stable")


def popular_for(popular: np.ndarray, hidden: sp.csr_matrix, rows: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` most popular products for each customer row, less those hidden for them."""
    out = np.full((len(rows), n), -1, dtype=np.int64)
    head = popular[: n + 200]
    for i, row in enumerate(rows):
        own = hidden.indices[hidden.indptr[row] : hidden.indptr[row + 1]]
        keep = head[~np.isin(head, own)][:n] if len(own) else head[:n]
        out[i, : len(keep)] = keep
    return out


@dataclass
class Pairs:
    """Frequently bought together: for each pair (a, b) kept, the measures of the rule a → b."""

    a: np.ndarray
    b: np.ndarray
    count: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray


def bought_together(orders: np.ndarray, items: np.ndarray, n_items: int, *, min_count: int = 3, top: int = 10) -> Pairs:
    """Item pairs in the same order: support = share of orders with both, confidence = P(b | a),
    lift = confidence / P(b). Kept: pairs seen in ``min_count`` orders with lift above 1, the
    ``top`` by confidence for each product."""
    order_ids, order_rows = np.unique(orders, return_inverse=True)
    basket = sp.csr_matrix(
        (np.ones(len(items), dtype=np.float32), (order_rows, items)), shape=(len(order_ids), n_items)
    )
    basket.data[:] = 1.0  # a product twice in one order counts once
    basket.sum_duplicates()
    basket.data[:] = 1.0
    n_orders = max(len(order_ids), 1)
    together = (basket.T @ basket).tocoo()
    singles = np.asarray(basket.sum(axis=0)).ravel()
    keep = (together.row != together.col) & (together.data >= min_count)
    a, b, count = together.row[keep], together.col[keep], together.data[keep]
    confidence = count / singles[a]
    lift = confidence / (singles[b] / n_orders)
    strong = lift > 1.0
    a, b, count, confidence, lift = a[strong], b[strong], count[strong], confidence[strong], lift[strong]
    order = np.lexsort((-confidence, a))
    a, b, count, confidence, lift = a[order], b[order], count[order], confidence[order], lift[order]
    rank = np.arange(len(a)) - np.searchsorted(a, a, side="left")
    best = rank < top
    return Pairs(a[best], b[best], count[best], count[best] / n_orders, confidence[best], lift[best])


def words(text: str) -> list[str]:
    """Words of a product's text: jieba cuts Chinese, the rest splits on spaces; punctuation dropped."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [w.lower() for w in jieba.cut_for_search(text or "") if w.strip() and _WORD.search(w)]


def content_vectors(categories: list[str], brands: list[str], texts: list[str]) -> sp.csr_matrix:
    """TF-IDF rows (unit length) of each product's category, brand and words."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [
        [f"category:{c}"] * 3 + ([f"brand:{b.lower()}"] * 2 if b else []) + words(t)
        for c, b, t in zip(categories, brands, texts, strict=True)
    ]
    vectorizer = TfidfVectorizer(analyzer=lambda document: document, norm="l2")
    return vectorizer.fit_transform(documents).tocsr()


def nearest(
    vectors: sp.csr_matrix, sources: np.ndarray, candidates: np.ndarray, top: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each source row, the ``top`` most similar candidate rows (cosine) and their similarity."""
    if len(candidates) == 0 or len(sources) == 0:
        return np.full((len(sources), top), -1, dtype=np.int64), np.zeros((len(sources), top), dtype=np.float32)
    similarity = (vectors[sources] @ vectors[candidates].T).toarray()
    similarity[candidates[None, :] == sources[:, None]] = -1.0
    take = min(top, len(candidates))
    best = np.argsort(-similarity, axis=1)[:, :take]
    found = np.full((len(sources), top), -1, dtype=np.int64)
    scores = np.zeros((len(sources), top), dtype=np.float32)
    found[:, :take] = candidates[best]
    scores[:, :take] = np.take_along_axis(similarity, best, axis=1)
    found[scores <= 0] = -1
    return found, scores


# Offline evaluation -----------------------------------------------------------------------


def ranking_metrics(recommended: np.ndarray, truth: list[set[int]], n_items: int, k: int = 10) -> dict[str, float]:
    """precision@k, recall@k and NDCG@k averaged over customers with a purchase in the test
    window, and catalogue coverage (share of products recommended to anyone)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    precision = recall = ndcg = 0.0
    for row, wanted in zip(recommended, truth, strict=True):
        top = row[:k]
        hits = np.array([item in wanted for item in top], dtype=float)
        precision += hits.sum() / k
        recall += hits.sum() / len(wanted)
        ideal = discounts[: min(len(wanted), k)].sum()
        ndcg += float((hits * discounts[: len(top)]).sum() / ideal)
    n = max(len(truth), 1)
    shown = np.unique(recommended[:, :k])
    return {
        f"precision@{k}": round(float(precision) / n, 4),
        f"recall@{k}": round(float(recall) / n, 4),
        f"ndcg@{k}": round(float(ndcg) / n, 4),
        "coverage": round(len(shown[shown >= 0]) / max(n_items, 1), 4),
        "customers": len(truth),
    }


@dataclass
class History:
    """Everything the backtest learns from and checks against, one row per interaction."""

    users: np.ndarray  # customer ids
    items: np.ndarray  # product positions
    times: np.ndarray  # seconds since the epoch
    weights: np.ndarray  # PURCHASE_WEIGHT, CART_WEIGHT or VIEW_WEIGHT
    is_purchase: np.ndarray
    n_items: int
    repeatable: np.ndarray  # per product: may be recommended again after a purchase


def backtest(
    history: History, cutoff: float, *, horizon_days: int = 30, k: int = 10, settings: AlsSettings = AlsSettings()
) -> dict[str, Any]:
    """Train on everything before ``cutoff``; for customers known by then who buy in the next
    ``horizon_days``, compare the top ``k`` of ALS and of popularity (last 90 days before the
    cutoff) with what they bought. Products already bought and not repeatable are hidden from both
    and left out of the truth: neither model may show them."""
    train = history.times < cutoff
    window = (history.times >= cutoff) & (history.times < cutoff + horizon_days * 86400) & history.is_purchase
    known, user_rows = np.unique(history.users[train], return_inverse=True)
    shape = (len(known), history.n_items)
    matrix = feedback_matrix(user_rows, history.items[train], history.weights[train], shape)
    bought = train & history.is_purchase
    bought_rows = np.searchsorted(known, history.users[bought])
    durable = ~history.repeatable[history.items[bought]]
    hidden = feedback_matrix(bought_rows[durable], history.items[bought][durable], np.ones(durable.sum()), shape)
    test_users = history.users[window]
    in_train = np.isin(test_users, known)
    test_rows = np.searchsorted(known, test_users[in_train])
    truth_by_row: dict[int, set[int]] = {}
    for row, item in zip(test_rows, history.items[window][in_train], strict=True):
        if hidden[row, item] == 0:
            truth_by_row.setdefault(int(row), set()).add(int(item))
    rows = np.array(sorted(truth_by_row), dtype=np.int64)
    truth = [truth_by_row[int(r)] for r in rows]
    model = train_als(matrix, settings)
    als_items, _scores = recommend(model, rows, hidden, k)
    recent = bought & (history.times >= cutoff - 90 * 86400)
    popular = popularity(history.items[recent], np.ones(recent.sum()), history.n_items)
    popular_items = popular_for(popular, hidden, rows, k)
    return {
        "cutoff": float(cutoff),
        "horizon_days": horizon_days,
        "train_interactions": int(train.sum()),
        "train_customers": len(known),
        "products": history.n_items,
        "als": ranking_metrics(als_items, truth, history.n_items, k),
        "popularity": ranking_metrics(popular_items, truth, history.n_items, k),
    }
