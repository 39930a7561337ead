"""BG/NBD and Gamma-Gamma against the published CDNOW estimates, and their gradients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from rapport.analytics import clv
from rapport.analytics.clv_fit import fit_log
from rapport.analytics.transactions import read_cdnow

CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def sample_fit() -> object:
    log = read_cdnow(Path(__file__).parent / "data" / "CDNOW_sample.txt")
    return fit_log(log, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END)


def test_bgnbd_on_the_cdnow_sample_reproduces_fader_hardie_lee_2005(sample_fit: object) -> None:
    fit = sample_fit.bgnbd  # type: ignore[attr-defined]
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, abs=6e-4)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert fit.customers == 2357


def test_gamma_gamma_on_the_cdnow_sample_reproduces_the_fader_hardie_note(sample_fit: object) -> None:
    fit = sample_fit.gamma_gamma  # type: ignore[attr-defined]
    assert fit.params["p"] == pytest.approx(6.25, abs=5e-3)
    assert fit.params["q"] == pytest.approx(3.74, abs=5e-3)
    assert fit.params["gamma"] == pytest.approx(15.44, abs=5e-3)
    assert fit.customers == 946


def test_holdout_prediction_is_compared_per_customer_and_in_total(sample_fit: object) -> None:
    report = sample_fit.as_json()  # type: ignore[attr-defined]
    holdout = report["holdout"]
    assert holdout["length"] == 39.0
    assert holdout["actual_total"] == 1882
    assert 1600 < holdout["predicted_total"] < 1700
    assert len(holdout["customers"]) == 2357
    assert report["calibration_repeat_purchases"] == 2457


def test_bgnbd_gradient_is_the_derivative_of_the_log_likelihood() -> None:
    x = np.array([0.0, 1.0, 4.0, 10.0])
    t_x = np.array([0.0, 3.5, 20.0, 30.0])
    T = np.array([12.0, 30.0, 35.0, 38.0])

    def total(params: np.ndarray) -> float:
        return float(clv.bgnbd_log_likelihood(params, x, t_x, T)[0].sum())

    def gradient(params: np.ndarray) -> np.ndarray:
        return clv.bgnbd_log_likelihood(params, x, t_x, T)[1].sum(axis=1)

    for params in ([0.24, 4.4, 0.79, 2.4], [1.3, 0.7, 2.5, 9.0]):
        assert optimize.check_grad(total, gradient, np.array(params)) < 1e-5


def test_gamma_gamma_gradient_is_the_derivative_of_the_log_likelihood() -> None:
    x = np.array([1.0, 2.0, 7.0])
    m = np.array([12.5, 40.0, 31.2])

    def total(params: np.ndarray) -> float:
        return float(clv.gamma_gamma_log_likelihood(params, x, m)[0].sum())

    def gradient(params: np.ndarray) -> np.ndarray:
        return clv.gamma_gamma_log_likelihood(params, x, m)[1].sum(axis=1)

    assert optimize.check_grad(total, gradient, np.array([6.2, 3.7, 15.4])) < 1e-5


def test_probability_alive_is_one_without_repeat_purchases_and_falls_with_silence() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    p = clv.bgnbd_probability_alive(params, np.array([0.0, 3.0, 3.0]), np.array([0.0, 30.0, 5.0]), np.array([30.0] * 3))
    assert p[0] == 1.0
    assert p[1] > p[2]


def test_expected_purchases_grow_with_the_horizon() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T = np.array([2.0]), np.array([20.0]), np.array([30.0])
    short = clv.bgnbd_expected_purchases(params, 4.0, x, t_x, T)
    long = clv.bgnbd_expected_purchases(params, 52.0, x, t_x, T)
    assert 0 < short[0] < long[0]


def test_gamma_gamma_shrinks_a_customers_average_towards_the_population() -> None:
    params = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    population = params["p"] * params["gamma"] / (params["q"] - 1)
    one, many = clv.gamma_gamma_expected_spend(params, np.array([1.0, 50.0]), np.array([200.0, 200.0]))
    assert population < one < many < 200.0
    assert clv.gamma_gamma_expected_spend(params, np.array([0.0]), np.array([0.0]))[0] == pytest.approx(population)


def test_fitting_without_repeat_purchases_is_refused() -> None:
    with pytest.raises(clv.FitError, match="repeat"):
        clv.fit_bgnbd(np.zeros(5), np.zeros(5), np.full(5, 10.0))
    with pytest.raises(clv.FitError):
        clv.fit_gamma_gamma(np.zeros(5), np.zeros(5))
