"""Buy-till-you-die models written with numpy and scipy: BG/NBD and Gamma-Gamma.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") says how many
purchases a customer will make and whether they are still "alive"; Gamma-Gamma (Fader, Hardie &
Lee 2005, "RFM and CLV") says how much each purchase will be worth. Both are fitted by maximum
likelihood: the log-likelihood and its analytic gradient are vectorised over customers (rows with
the same summary are counted once, with a weight), and L-BFGS-B searches over the logarithms of
the parameters so that they stay positive without bounds.

Inputs are per-customer summaries in a time unit of the caller's choosing (weeks in the papers):
``frequency`` is the number of repeat purchases (days with a purchase after the first),
``recency`` the time from the first to the last purchase, ``age`` (``T``) the time from the first
purchase to the end of the calibration period. See ``docs/models.md`` for the validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special
from threadpoolctl import threadpool_limits

FloatArray = NDArray[np.float64]


class FitError(ValueError):
    """The data cannot identify the model (too few customers, no repeat purchases)."""


@dataclass(frozen=True)
class FitResult:
    params: dict[str, float]
    log_likelihood: float
    iterations: int
    customers: int


def _compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Unique rows of the columns and how often each occurs: many customers share a summary."""
    stacked = np.column_stack(columns)
    stacked = stacked[np.lexsort(columns[::-1])]
    starts = np.ones(len(stacked), dtype=bool)
    starts[1:] = np.any(stacked[1:] != stacked[:-1], axis=1)
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, len(stacked))).astype(np.float64)
    unique = stacked[first]
    return [unique[:, i] for i in range(unique.shape[1])], counts


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray, names: tuple[str, ...]
) -> tuple[dict[str, float], float, int]:
    # Trial steps may overflow (the result is checked below). One BLAS thread: a problem of three
    # or four parameters gains nothing from more, and their spinning costs twice the fit on a busy host.
    with np.errstate(all="ignore"), threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-9}
        )
    if not (np.isfinite(result.fun) and np.all(np.abs(result.x) < 50)):
        # exp(50) ≈ 5e21: a parameter running off to infinity means the data cannot identify it
        # (Gamma-Gamma on purchases that all have the same value, for one).
        raise FitError("the data do not identify the model's parameters (the likelihood has no finite maximum)")
    params = dict(zip(names, (float(v) for v in np.exp(result.x)), strict=True))
    return params, -float(result.fun), int(result.nit)


# BG/NBD -------------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: FloatArray, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each customer's log-likelihood under BG/NBD and its gradient with respect to
    ``(r, alpha, a, b)`` (shape ``(4, n)``)."""
    r, alpha, a, b = params
    x, t_x, T = frequency, recency, age
    repeat = x > 0
    distinct, where = np.unique(x, return_inverse=True)

    def per_x(values: FloatArray) -> FloatArray:
        return values[where]

    gl, dg = special.gammaln, special.digamma
    a1 = per_x(gl(r + distinct)) - gl(r) + r * np.log(alpha)
    a2 = gl(a + b) + per_x(gl(b + distinct) - gl(b) - gl(a + b + distinct))
    a3 = -(r + x) * np.log(alpha + T)
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    log_alpha_tx = np.log(alpha + t_x)
    a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_alpha_tx, -np.inf)
    tail = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - tail)
    w4 = np.exp(a4 - tail)

    d_r = per_x(dg(r + distinct)) - dg(r) + np.log(alpha)
    d_r += -w3 * np.log(alpha + T) - w4 * log_alpha_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    psi_ab = dg(a + b)
    psi_abx = per_x(dg(a + b + distinct))
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + per_x(dg(b + distinct)) - dg(b) - psi_abx - w4 / b_x1
    return a1 + a2 + tail, np.vstack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(frequency: FloatArray, recency: FloatArray, age: FloatArray) -> FitResult:
    """Maximum-likelihood BG/NBD parameters ``r, alpha, a, b``."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, age))
    _check_summary(x, t_x, T)
    (ux, ut, uT), weights = _compress(x, t_x, T)
    scale = weights.sum()

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        ll, grad = bgnbd_log_likelihood(params, ux, ut, uT)
        # d/d(log θ) = θ · d/dθ
        return -float(weights @ ll) / scale, -(grad @ weights) * params / scale

    start = np.log(np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0]))
    params, mean_ll, iterations = _minimise(objective, start, ("r", "alpha", "a", "b"))
    return FitResult(params, mean_ll * scale, iterations, int(scale))


def _check_summary(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if x.size < 2:
        raise FitError("at least two customers are needed")
    if not (np.all(x >= 0) and np.all(t_x >= 0) and np.all(t_x <= T)):
        raise FitError("frequency and recency must be non-negative and recency at most the age")
    if not np.any(x > 0):
        raise FitError("no customer made a repeat purchase in the calibration period")


def bgnbd_probability_alive(
    params: dict[str, float], frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """P(still a customer at the end of calibration | history)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = frequency, recency, age
    repeat = x > 0
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    odds = np.where(repeat, a / np.where(repeat, b + x - 1, 1.0) * np.exp(np.minimum(log_ratio, 700)), 0.0)
    return np.asarray(1.0 / (1.0 + odds))


def bgnbd_expected_purchases(
    params: dict[str, float], horizon: float, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """Expected purchases in the next ``horizon`` time units given each customer's history."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, T = frequency, age
    z = horizon / (alpha + T + horizon)
    log_base = (r + x) * np.log((alpha + T) / (alpha + T + horizon))
    bracket = 1.0 - np.exp(log_base) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    lead = (a + b + x - 1) / (a - 1)
    return np.asarray(lead * bracket * bgnbd_probability_alive(params, frequency, recency, age))


def bgnbd_unconditional_purchases(params: dict[str, float], t: FloatArray) -> FloatArray:
    """Expected purchases by a new customer in their first ``t`` time units (after the first)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + t)
    hyp = special.hyp2f1(r, b, a + b - 1, z)
    return np.asarray((a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp))


# Gamma-Gamma ----------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: FloatArray, frequency: FloatArray, monetary: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each repeat customer's log-likelihood of their average spend and its gradient with respect
    to ``(p, q, gamma)``."""
    p, q, g = params
    x, m = frequency, monetary
    px = p * x
    log_total = np.log(g + m * x)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    psi_pxq = special.digamma(px + q)
    d_p = x * (psi_pxq - special.digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = psi_pxq - special.digamma(q) + np.log(g) - log_total
    d_g = q / g - (px + q) / (g + m * x)
    return ll, np.vstack([d_p, d_q, d_g])


def fit_gamma_gamma(frequency: FloatArray, monetary: FloatArray) -> FitResult:
    """Maximum-likelihood Gamma-Gamma parameters ``p, q, gamma`` from customers with at least one
    repeat purchase (``monetary`` is the mean value of their repeat purchases)."""
    x, m = np.asarray(frequency, dtype=np.float64), np.asarray(monetary, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    if keep.sum() < 2:
        raise FitError("at least two customers with repeat purchases of positive value are needed")
    (ux, um), weights = _compress(x[keep], m[keep])
    scale = weights.sum()

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        ll, grad = gamma_gamma_log_likelihood(params, ux, um)
        return -float(weights @ ll) / scale, -(grad @ weights) * params / scale

    start = np.log(np.array([1.0, 1.0, max(float(np.mean(m[keep])), 1e-3)]))
    params, mean_ll, iterations = _minimise(objective, start, ("p", "q", "gamma"))
    return FitResult(params, mean_ll * scale, iterations, int(scale))


def gamma_gamma_expected_spend(params: dict[str, float], frequency: FloatArray, monetary: FloatArray) -> FloatArray:
    """Expected value of a customer's future purchase: their own average shrunk towards the
    population's, the more so the fewer purchases it rests on. Customers without a repeat purchase
    get the population mean ``p·gamma/(q-1)``."""
    p, q, g = params["p"], params["q"], params["gamma"]
    x = np.asarray(frequency, dtype=np.float64)
    m = np.where(x > 0, np.asarray(monetary, dtype=np.float64), 0.0)
    return np.asarray(p * (g + x * m) / (p * x + q - 1))
