"""Recommendations: trained lists never show what is out of stock, excluded, inactive or bought
(for durable categories); every suggestion carries a reason; customers without history get the
best sellers of their city; bought-together pairs carry their measures."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from rapport.commerce import services as commerce
from rapport.commerce.models import Category, Product
from rapport.inventory import services as stock
from rapport.recommendations import engine, services, training
from rapport.recommendations.models import Reason, Recommendation, RelatedProduct, Rule, TrainingRun

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.fixture
def shop(system_actor, make_customer):
    """Three categories of four products; each customer buys mostly in one category."""
    rng = random.Random(3)
    for code in ("tea", "bags", "pets"):
        commerce.save_category(data={"code": code, "name": code}, actor=system_actor)
        for i in range(4):
            commerce.upsert_product(
                data={"sku": f"{code}-{i}", "name": f"{code} {i}", "price": "10", "category": code, "brand": "B"},
                actor=system_actor,
            )
    commerce.upsert_product(
        data={"sku": "new-bag", "name": "bags new", "price": "9", "category": "bags"}, actor=system_actor
    )
    customers = [make_customer(city="上海" if n % 2 else "北京") for n in range(40)]
    n = 0
    for index, customer in enumerate(customers):
        favourite = ("tea", "bags", "pets")[index % 3]
        for _ in range(3):
            n += 1
            skus = {f"{favourite}-{rng.randrange(4)}" for _ in range(2)}
            commerce.upsert_order(
                data={
                    "channel": "web",
                    "external_id": f"o-{n}",
                    "customer_id": customer.pk,
                    "placed_at": (NOW - dt.timedelta(days=rng.randrange(1, 60))).isoformat(),
                    "lines": [{"sku": sku, "quantity": 1, "unit_price": "10"} for sku in sorted(skus)],
                },
                actor=system_actor,
            )
    Rule.objects.create(kind=Rule.Kind.REPEAT, category=Category.objects.get(code="pets"))
    return customers


def test_lists_respect_stock_rules_and_carry_reasons(shop, system_actor, make_customer):
    run = training.train(now=NOW)
    assert run.customers == 40 and Recommendation.objects.count() == 40
    assert set(run.backtest["als"]) >= {"precision@10", "recall@10", "ndcg@10", "coverage"}
    assert "popularity" in run.backtest
    sold_out = Product.objects.get(sku="tea-0")
    stock.record_movement(sold_out, stock.default_location(), data={"kind": "count", "quantity": 0}, actor=system_actor)
    excluded = Product.objects.get(sku="tea-1")
    Rule.objects.create(kind=Rule.Kind.EXCLUDE, product=excluded)
    Product.objects.filter(sku="tea-2").update(is_active=False)
    for customer in shop:
        suggestions = services.for_customer(customer, limit=20)
        assert suggestions
        skus = {s.product.sku for s in suggestions}
        assert not skus & {"tea-0", "tea-1", "tea-2"}
        bought = set(Product.objects.filter(order_lines__order__customer=customer).values_list("sku", flat=True))
        durable_bought = {sku for sku in bought if not sku.startswith("pets-")}
        assert not skus & durable_bought
        assert all(s.reason_text and s.reason in Reason.values for s in suggestions)
        assert all(s.because is not None for s in suggestions if s.reason in (Reason.BOUGHT, Reason.SIMILAR))


def test_cold_customer_gets_city_best_sellers_and_boosts_apply(shop, make_customer):
    training.train(now=NOW)
    newcomer = make_customer(city="上海")
    suggestions = services.for_customer(newcomer)
    assert suggestions and {s.reason for s in suggestions} == {Reason.POPULAR_CITY}
    assert "上海" in suggestions[0].reason_text
    favourite = suggestions[-1].product
    Rule.objects.create(kind=Rule.Kind.BOOST, product_id=favourite.pk, weight=100)
    assert services.for_customer(newcomer)[0].product == favourite


def test_related_products_bought_together_and_similar(shop):
    training.train(now=NOW)
    tea = Product.objects.get(sku="tea-3")
    related = services.related(tea)
    assert related and all(s.reason_text for s in related)
    together = RelatedProduct.objects.filter(kind=RelatedProduct.Kind.TOGETHER)
    assert together.exists() and all(r.lift > 1 and 0 < r.confidence <= 1 for r in together)
    cold = Product.objects.get(sku="new-bag")  # nobody bought or viewed it: content similarity
    assert {s.product.category_code for s in services.related(cold)} <= {"bags", "tea", "pets"}
    assert services.related(cold)[0].product.category_code == "bags"


def test_training_without_history_keeps_a_run(db):
    run = training.train(now=NOW)
    assert run.customers == 0 and TrainingRun.objects.count() == 1


def test_ranking_metrics_by_hand():
    recommended = np.array([[1, 2, 3], [4, 5, 6]])
    metrics = engine.ranking_metrics(recommended, [{1}, {9}], n_items=10, k=3)
    assert metrics["precision@3"] == round((1 / 3) / 2, 4)
    assert metrics["recall@3"] == 0.5
    assert metrics["ndcg@3"] == 0.5
    assert metrics["coverage"] == 0.6


def test_bought_together_measures():
    orders = np.array([1, 1, 2, 2, 3, 3, 4, 5])
    items = np.array([0, 1, 0, 1, 0, 1, 2, 2])
    pairs = engine.bought_together(orders, items, 3, min_count=2)
    assert list(zip(pairs.a, pairs.b, strict=True)) == [(0, 1), (1, 0)]
    assert pairs.support[0] == pytest.approx(3 / 5) and pairs.confidence[0] == 1.0
    assert pairs.lift[0] == pytest.approx(1 / (3 / 5))


def test_a_customer_who_only_looked_gets_a_list_because_they_viewed(shop, make_customer):
    from rapport.events.models import Event

    browser = make_customer(city="北京")
    for n, sku in enumerate(("bags-0", "bags-1", "bags-0")):
        Event.objects.create(
            timestamp=NOW - dt.timedelta(days=2),
            received_at=NOW - dt.timedelta(days=2),
            source_id=1,
            message_id=f"m-{n}",
            type="track",
            name="Product Viewed" if n else "Product Added",
            customer=browser,
            properties={"sku": sku},
        )
    training.train(now=NOW, backtest=False)
    suggestions = services.for_customer(browser)
    assert suggestions and {s.reason for s in suggestions} == {Reason.VIEWED}
    assert all(s.because is not None and s.because.sku.startswith("bags-") for s in suggestions)


def test_rules_are_kept_per_process_until_they_change(shop, django_assert_num_queries):
    training.train(now=NOW)
    customer = shop[0]
    services.for_customer(customer)
    with django_assert_num_queries(3):  # customer with list and rules' version, bought since, products
        listed = services.for_customer(customer, limit=20)
    top = listed[0].product
    boost = Rule.objects.create(kind=Rule.Kind.EXCLUDE, product_id=top.pk)
    assert top not in {s.product for s in services.for_customer(customer, limit=20)}
    boost.kind, boost.weight = Rule.Kind.BOOST, 50
    boost.save()
    assert services.for_customer(customer, limit=20)[0].product == top
    boost.delete()
    assert services.for_customer(customer, limit=20) == listed


def test_a_batch_of_customers_takes_the_same_queries_as_one(shop, make_customer, django_assert_num_queries):
    training.train(now=NOW)
    cold = make_customer(city="上海")
    ids = [c.pk for c in shop] + [cold.pk]
    services.for_customers(ids[:1])
    with django_assert_num_queries(3):
        one = services.for_customers(ids[:1])
    with django_assert_num_queries(3):
        everyone = services.for_customers(ids)
    assert everyone[ids[0]] == one[ids[0]]
    assert len(everyone) == len(ids) and all(everyone[pk] for pk in ids)
    assert {s.reason for s in everyone[cold.pk]} == {Reason.POPULAR_CITY}
    assert everyone[shop[5].pk] == services.for_customer(shop[5])
