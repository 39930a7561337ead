"""The metrics job on the real database: RFM, lifecycle, tiers, preferences, CLV and churn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.analytics import metrics
from rapport.analytics.models import CustomerMetrics, ModelFit
from rapport.analytics.tests.conftest import NOW
from rapport.commerce.models import OrderStatus
from rapport.core.changes import Change, customers_changed

pytestmark = pytest.mark.django_db


def _m(customer: Any) -> CustomerMetrics:
    return CustomerMetrics.objects.get(customer=customer)


def test_lifecycle_stages_follow_the_configured_thresholds(
    make_customer: Callable[..., Any], place_order: Callable[..., Any], settings: Any
) -> None:
    settings.RAPPORT_LIFECYCLE_DAYS = {"new": 30, "active": 90, "churned": 365}
    prospect = make_customer()
    new = make_customer()
    place_order(new, 10)
    active = make_customer()
    place_order(active, 60)
    repeat = make_customer()
    place_order(repeat, 200)
    place_order(repeat, 20)
    dormant = make_customer()
    place_order(dormant, 200)
    churned = make_customer()
    place_order(churned, 400)
    cancelled_only = make_customer()
    place_order(cancelled_only, 5, status=OrderStatus.CANCELLED)

    result = metrics.recompute_all(now=NOW)

    assert result.customers == 7
    assert result.buyers == 5
    stages = {c: _m(c).lifecycle_stage for c in (prospect, new, active, repeat, dormant, churned, cancelled_only)}
    assert [stages[c] for c in (prospect, new, active, repeat, dormant, churned, cancelled_only)] == [
        "potential",
        "new",
        "active",
        "repeat",
        "dormant",
        "churned",
        "potential",
    ]
    settings.RAPPORT_LIFECYCLE_DAYS = {"new": 5, "active": 30, "churned": 150}
    metrics.recompute_all(now=NOW)
    assert _m(new).lifecycle_stage == "active"
    assert _m(dormant).lifecycle_stage == "churned"


def test_rfm_scores_segments_tiers_and_preferences(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    customers = []
    for i in range(10):
        customer = make_customer()
        for k in range(i + 1):
            place_order(
                customer,
                5 + 30 * (9 - i) + k,
                total=f"{50 * (i + 1) + 7 * k}.00",
                discount="20.00" if i < 3 else "0.00",
            )
        customers.append(customer)
    lapsed = make_customer()

    metrics.recompute_all(now=NOW)

    best, worst = _m(customers[-1]), _m(customers[0])
    assert (best.r_score, best.f_score, best.m_score) == (5, 5, 5)
    assert (worst.r_score, worst.f_score, worst.m_score) == (1, 1, 1)
    assert best.rfm_segment == "champions"
    assert worst.rfm_segment == "hibernating"
    assert best.value_tier == "top"
    assert worst.value_tier == "low"
    assert best.orders == 10 and best.purchase_days == 10
    assert best.preferred_category is not None and best.preferred_category.code == "tea"
    assert worst.price_sensitivity == "high"  # 20 off a list price of 70
    assert best.price_sensitivity == "low"
    assert _m(lapsed).rfm_segment == "" and _m(lapsed).r_score is None
    assert ModelFit.objects.filter(kind="rfm").exists()


def test_clv_models_score_steady_buyers_above_lapsed_ones(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    # BG/NBD needs both kinds of history to identify its dropout process: with no one lapsing, the
    # likelihood has no finite maximum and the fit is refused (ten look-alike buyers are not enough).
    steady, lapsed = [], []
    for i in range(12):
        customer = make_customer()
        for k in range(15):
            place_order(customer, 300 + i - 20 * k, total=f"{40 + 5 * i + 10 * (k % 3)}.00")
        steady.append(customer)
    for i in range(12):
        customer = make_customer()
        for k in range(4):
            place_order(customer, 400 + 10 * i - 30 * k, total=f"{60 + 7 * i + 5 * k}.00")
        lapsed.append(customer)
    for i in range(6):
        place_order(make_customer(), 100 + 20 * i, total="50.00")

    metrics.recompute_all(now=NOW)

    assert {"rfm", "bgnbd", "gamma_gamma"} <= set(ModelFit.objects.values_list("kind", flat=True))
    keen, gone = _m(steady[0]), _m(lapsed[0])
    assert keen.p_alive is not None and gone.p_alive is not None and 0 <= gone.p_alive < keen.p_alive <= 1
    assert keen.clv_12m is not None and keen.clv_12m > 0
    assert keen.expected_purchases_90d > gone.expected_purchases_90d  # type: ignore[operator]
    assert keen.expected_next_order_on is not None


def test_churn_classifier_scores_customers_when_there_is_history_enough(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    for i in range(70):
        customer = make_customer()
        loyal = i % 3 == 0
        for k in range(8 if loyal else 2):
            place_order(customer, 400 - k * (50 if loyal else 10) - i, total="80.00")
    metrics.recompute_all(now=NOW)
    fit = ModelFit.objects.get(kind="churn")
    assert set(fit.quality) >= {"auc", "recency_baseline_auc", "train_customers", "test_customers"}
    scored = CustomerMetrics.objects.exclude(churn_probability=None)
    assert scored.count() == 70
    assert all(0 <= p <= 1 for p in scored.values_list("churn_probability", flat=True))


def test_a_changed_customer_is_rescored_with_the_stored_fits(
    make_customer: Callable[..., Any],
    place_order: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    first, second = make_customer(), make_customer()
    place_order(first, 100)
    place_order(second, 50)
    place_order(second, 40)
    metrics.recompute_all(now=NOW)
    fits = ModelFit.objects.count()
    place_order(first, 2)

    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(12):
        customers_changed([first.pk], kind=Change.ORDERS)

    row = _m(first)
    assert row.orders == 2
    assert row.lifecycle_stage == "repeat"
    assert ModelFit.objects.count() == fits


def test_before_the_first_full_run_a_change_writes_nothing(
    make_customer: Callable[..., Any], place_order: Callable[..., Any], django_assert_num_queries: Any
) -> None:
    customer = make_customer()
    place_order(customer, 3)
    with django_assert_num_queries(1):
        result = metrics.recompute_customers([customer.pk])
    assert result.customers == 0
    assert not CustomerMetrics.objects.exists()


def test_merging_customers_rescores_the_survivor(
    make_customer: Callable[..., Any],
    place_order: Callable[..., Any],
    system_actor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from rapport.customers.merge import merge_customers

    survivor, merged = make_customer(), make_customer()
    place_order(survivor, 30)
    place_order(merged, 10)
    metrics.recompute_all(now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        merge_customers(survivor, merged, actor=system_actor, reason="same person")
    assert not CustomerMetrics.objects.filter(customer_id=merged.pk).exists()
    assert _m(survivor).orders == 2


def test_the_churn_classifier_is_retrained_weekly_not_nightly(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    import datetime as dt

    for i in range(60):
        customer = make_customer()
        loyal = i % 3 == 0
        for k in range(8 if loyal else 2):
            place_order(customer, 400 - k * (50 if loyal else 10) - i, total=f"{60 + k}.00")
    metrics.recompute_all(now=NOW)
    metrics.recompute_all(now=NOW + dt.timedelta(days=1))
    assert ModelFit.objects.filter(kind="churn").count() == 1
    assert CustomerMetrics.objects.exclude(churn_probability=None).count() == 60
    metrics.recompute_all(now=NOW + dt.timedelta(days=8))
    assert ModelFit.objects.filter(kind="churn").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_full_run_reads_preferred_categories_on_its_own_connection(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    # Outside any transaction (as the scheduled job runs) PostgreSQL answers the category query on
    # a second connection while the run aggregates; the rows it writes are the same.
    buyer = make_customer()
    place_order(buyer, 10, total="80.00")
    place_order(buyer, 40, total="30.00")

    metrics.recompute_all(now=NOW)

    assert _m(buyer).preferred_category is not None and _m(buyer).preferred_category.code == "tea"  # type: ignore[union-attr]
    assert _m(buyer).orders == 2


def test_recomputing_customers_who_have_not_bought_writes_them_as_potential(
    make_customer: Callable[..., Any], place_order: Callable[..., Any]
) -> None:
    # An import brings customers without orders: the incremental recompute after it scores them
    # as not having bought instead of failing on an empty purchase summary.
    for _ in range(12):
        buyer = make_customer()
        place_order(buyer, 30)
        place_order(buyer, 5)
    metrics.recompute_all(now=NOW)
    newcomers = [make_customer(), make_customer()]

    result = metrics.recompute_customers([c.pk for c in newcomers], now=NOW)

    assert (result.customers, result.buyers) == (2, 0)
    for customer in newcomers:
        assert _m(customer).lifecycle_stage == "potential" and _m(customer).orders == 0
