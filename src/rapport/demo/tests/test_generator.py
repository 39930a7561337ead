"""The plan alone, without a database: determinism, sizes, buying behaviour and the calendar."""

import collections
import datetime as dt
import zoneinfo

import phonenumbers
import pytest

from rapport.commerce.models import COUNTED_STATUSES, OrderStatus
from rapport.demo import calendar
from rapport.demo.catalogue import CATEGORIES, PRODUCT_COUNT, STORES
from rapport.demo.generator import plan_demo_shop

from .conftest import END, SMALL

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def plan():
    return plan_demo_shop(seed=3, customers=2000, end=END)


@pytest.fixture(scope="module")
def small_plan():
    return plan_demo_shop(seed=7, customers=SMALL, end=END)


def _fingerprint(plan):
    first = plan.customers[0]
    return (
        len(plan.customers),
        len(plan.orders),
        sum(len(o.lines) for o in plan.orders),
        (first.name, first.phone, first.email, first.registered_at, first.identities),
        plan.orders[0].external_id,
        plan.orders[-1].total,
    )


def test_the_same_seed_plans_the_same_shop(small_plan):
    assert _fingerprint(plan_demo_shop(seed=7, customers=SMALL, end=END)) == _fingerprint(small_plan)


def test_another_seed_plans_another_shop(small_plan):
    assert _fingerprint(plan_demo_shop(seed=8, customers=SMALL, end=END)) != _fingerprint(small_plan)


def test_sizes_follow_the_number_of_customers(small_plan):
    assert len(small_plan.customers) == SMALL
    assert len(small_plan.products) == PRODUCT_COUNT == 200
    assert {p.category for p in small_plan.products} == {c.code for c in CATEGORIES}
    assert len(CATEGORIES) == 15 and len(STORES) == 5
    assert abs(len(small_plan.orders) - 12 * SMALL) < 0.1 * 12 * SMALL


def test_orders_can_be_asked_for_explicitly():
    plan = plan_demo_shop(seed=1, customers=100, orders=300, end=END)
    assert abs(len(plan.orders) - 300) < 60


def test_many_buyers_buy_once_and_a_loyal_fifth_brings_most_revenue(plan):
    orders = collections.Counter()
    revenue = collections.Counter()
    for order in plan.orders:
        if order.status in COUNTED_STATUSES:
            orders[order.customer] += 1
            revenue[order.customer] += order.total - order.refunded
    one_time = sum(1 for n in orders.values() if n == 1) / len(orders)
    assert 0.4 < one_time < 0.65
    ranked = sorted(revenue.values(), reverse=True)
    assert sum(ranked[: len(ranked) // 5]) > 0.5 * sum(ranked)
    assert max(orders.values()) >= 40  # the loyal core
    assert len(orders) < len(plan.customers)  # some members never buy


def test_november_is_busier_than_the_average_month_and_11_11_is_the_peak(plan):
    by_month = collections.Counter()
    by_day = collections.Counter()
    for order in plan.orders:
        local = order.placed_at.astimezone(SHANGHAI)
        by_month[(local.year, local.month)] += 1
        by_day[local.date()] += 1
    start = END - dt.timedelta(days=730)
    full_months = [m for m in by_month if (m[0], m[1]) != (start.year, start.month)]
    average = sum(by_month[m] for m in full_months) / len(full_months)
    assert by_month[(2025, 11)] > 1.2 * average
    median_day = sorted(by_day.values())[len(by_day) // 2]
    assert by_day[dt.date(2025, 11, 11)] > 4 * median_day
    assert by_day[dt.date(2025, 6, 18)] > 2.5 * median_day
    festival = calendar.spring_festival(2026)
    holiday = [by_day[festival + dt.timedelta(days=i)] for i in range(5)]
    assert max(holiday) < median_day


def test_orders_lie_in_the_window_and_add_up(plan):
    window_start = dt.datetime.combine(END - dt.timedelta(days=730), dt.time(), tzinfo=SHANGHAI)
    window_end = dt.datetime.combine(END, dt.time(), tzinfo=SHANGHAI)
    prices = [p.price_cents for p in plan.products]
    for order in plan.orders:
        assert window_start <= order.placed_at < window_end
        assert order.subtotal == sum(prices[p] * q for p, q in order.lines)
        assert order.total == order.subtotal - order.discount + order.shipping >= 0
        assert order.customer < len(plan.customers)
        if order.refund:
            assert 0 < order.refund.amount <= order.total
            assert order.placed_at < order.refund.refunded_at < window_end
            expected = OrderStatus.REFUNDED if order.refund.amount == order.total else OrderStatus.PARTIALLY_REFUNDED
            assert order.status == expected
    assert all(plan.customers[o.customer].registered_at <= o.placed_at for o in plan.orders)


def test_statuses_and_refunds_look_like_a_real_shop(plan):
    statuses = collections.Counter(o.status for o in plan.orders)
    total = len(plan.orders)
    assert statuses[OrderStatus.COMPLETED] > 0.8 * total
    assert 0.02 < statuses[OrderStatus.CANCELLED] / total < 0.08
    refunds = sum(1 for o in plan.orders if o.refund)
    assert 0.03 <= refunds / total <= 0.05
    assert statuses[OrderStatus.PENDING] > 0  # the last day still has unpaid orders


def test_phones_emails_and_identities_are_valid_and_unique(plan):
    phones = [c.phone for c in plan.customers if c.phone]
    assert len(phones) == len(set(phones)) > 0.9 * len(plan.customers)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) and p.startswith("+861") for p in phones)
    emails = [c.email.lower() for c in plan.customers if c.email]
    assert len(emails) == len(set(emails)) > 0
    identities = [i for c in plan.customers for i in c.identities]
    assert len(identities) == len(set(identities))
    assert {channel for channel, _ in identities} >= {"web", "wechat", "tmall", "pos"}


def test_names_are_mostly_chinese_with_some_english(plan):
    chinese = sum(1 for c in plan.customers if all("\u4e00" <= ch <= "\u9fff" for ch in c.name))
    assert 0.8 < chinese / len(plan.customers) < 0.95


def test_every_day_of_the_calendar_has_a_positive_weight():
    weights = calendar.daily_weights(dt.date(2024, 1, 1), 3 * 366)
    assert (weights > 0).all()
    assert calendar.day_multiplier(dt.date(2025, 11, 11)) > 5 * calendar.day_multiplier(dt.date(2025, 9, 10))
