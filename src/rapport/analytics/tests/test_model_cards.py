"""Model cards draw the stored backtest figures as a small SVG bar chart: the model against its baselines."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.analytics.model_cards import backtest_chart, churn_chart, recommendation_chart
from rapport.analytics.models import ModelFit
from rapport.recommendations.models import TrainingRun
from rapport.testing.fixtures import STAFF_PASSWORD

BACKTEST = {
    "horizon_days": 30,
    "als": {"precision@10": 0.08, "recall@10": 0.3, "ndcg@10": 0.2, "coverage": 0.6, "customers": 40},
    "popularity": {"precision@10": 0.04, "recall@10": 0.15, "ndcg@10": 0.1, "coverage": 0.05, "customers": 40},
}


def test_bars_are_scaled_to_the_top_and_stacked_by_group():
    chart = backtest_chart([("AUC", [("model", 0.8, "model"), ("chance", 0.5, "chance")])], top=1.0)
    assert [(b.label, b.width) for b in chart["bars"]] == [("model", 128), ("chance", 80)]
    assert chart["bars"][1].y > chart["bars"][0].y and chart["height"] > chart["bars"][1].y
    assert backtest_chart([], top=1.0) is None


def test_the_churn_chart_compares_auc_with_recency_and_chance():
    chart = churn_chart({"auc": 0.74, "recency_baseline_auc": 0.66, "test_customers": 10})
    assert [(b.role, b.value) for b in chart["bars"]] == [("model", 0.74), ("baseline", 0.66), ("chance", 0.5)]
    assert churn_chart({"log_likelihood": -3.2}) is None


def test_the_recommendation_chart_pairs_als_with_popularity_per_measure():
    chart = recommendation_chart(BACKTEST)
    assert [title for title, _y in chart["heads"]] == ["precision@10", "recall@10", "ndcg@10"]
    assert [b.role for b in chart["bars"]] == ["model", "baseline"] * 3
    assert max(b.width for b in chart["bars"]) < 160  # the tallest keeps room for its value


@pytest.mark.django_db
def test_the_models_page_shows_both_charts(client, make_staff):
    now = timezone.now()
    ModelFit.objects.create(
        kind=ModelFit.Kind.CHURN,
        fitted_at=now,
        customers=50,
        params={},
        quality={"auc": 0.7, "recency_baseline_auc": 0.6},
    )
    TrainingRun.objects.create(trained_at=now, customers=40, backtest=BACKTEST)
    user = make_staff(roles.OPERATOR, username="models")
    client.login(username=user.username, password=STAFF_PASSWORD)
    page = client.get("/analytics/models/").content.decode()
    assert page.count('class="backtest-chart"') == 2
    assert 'class="bar bar-model" data-label="Churn model" data-value="0.7"' in page
    assert 'data-label="ALS" data-value="0.08"' in page
