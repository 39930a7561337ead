"""The import's bulk order cleaner agrees with the API's ``clean_order`` on random orders.

Orders are drawn from values that are valid, invalid and odd (blank, padded, too long, not text,
unknown fields, unknown SKUs and buyers), the way an export and an API client send them. For
each, both cleaners must return the same order or refuse it with the same errors (field, code,
message), with one bulk cleaner reused across examples so that its remembered values are tested too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rapport.commerce.models import Product
from rapport.commerce.validation import BulkOrderCleaner, CatalogueCache, clean_order
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer, Identity, Store

pytestmark = pytest.mark.django_db

MONEY = st.sampled_from(
    ["0", "0.00", "1", "9.50", " 12.3 ", "-0", "-1", "1.555", "abc", "", "1e3", "NaN", "999999999999.99", "1e15"]
)
TEXT = st.sampled_from(["", " ", "SF", " 顺丰 ", "x" * 61, "上海市浦东新区世纪大道1号", "y" * 501])
DATES = st.sampled_from(
    [
        "2025-03-01T10:30:00+08:00",
        "2025-03-01 10:30:00",
        "2025-03-01",
        " 2024-12-31T23:59:59Z ",
        "2025-02-30",
        "yesterday",
        "",
        dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC),
    ]
)
QUANTITY = st.sampled_from(["1", "2", " 3 ", "0", "-1", "100000", "100001", "1.5", "x", ""])
SKU = st.sampled_from(["KNOWN-1", "KNOWN-2", "FREE", "UNKNOWN-9", " KNOWN-1 ", "", "s" * 65])


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or the key absent (None means: leave it out)."""
    return st.one_of(st.none(), strategy)


LINE = st.fixed_dictionaries(
    {},
    optional={
        "sku": st.one_of(SKU, st.integers(1, 3)),
        "name": st.sampled_from(["", "商品", " Tea ", "n" * 250]),
        "quantity": st.one_of(QUANTITY, st.just(2)),
        "unit_price": st.one_of(MONEY, st.just(1.5)),
        "colour": st.just("red"),
    },
)
ORDER = st.fixed_dictionaries(
    {
        "lines": st.one_of(
            st.lists(LINE, min_size=0, max_size=3), st.just("not a list"), st.lists(st.just(7), max_size=1)
        ),
    },
    optional={
        "channel": st.sampled_from(["web", " tmall ", "", "c" * 41]),
        "external_id": st.sampled_from(["O-1", " O-2 ", "", "e" * 129]),
        "customer_external_id": st.sampled_from(["KNOWN", "NOBODY", "", " KNOWN "]),
        "customer_id": st.sampled_from(["", "abc", "999999"]),
        "store": st.sampled_from(["", "shop-1", "nowhere"]),
        "status": st.sampled_from(["paid", "shipped", " completed ", "bogus", "", "PAID"]),
        "currency": st.sampled_from(["", "cny", " usd ", "EURO", "12"]),
        "discount_total": MONEY,
        "shipping_total": MONEY,
        "total": MONEY,
        "placed_at": DATES,
        "shipped_at": DATES,
        "carrier": st.one_of(TEXT, st.just(5)),
        "tracking_number": TEXT,
        "shipping_address": st.one_of(TEXT, st.just(5)),
        "gift_wrap": st.just("yes"),
    },
)

# orders an export sends: every field valid (padded, zero, known or unknown SKU), so that the
# fast path itself is exercised, not only its hand-over to the full cleaner
GOOD_MONEY = st.sampled_from(["0", "0.00", "-0", "1", "9.50", " 12.3 ", "999999.99"])
GOOD_LINE = st.fixed_dictionaries(
    {"sku": st.sampled_from(["KNOWN-1", " KNOWN-2 ", "FREE", "NEW-1"]), "quantity": st.sampled_from(["1", " 2 ", "7"])},
    optional={"name": st.sampled_from(["商品", " Tea ", "n" * 250]), "unit_price": GOOD_MONEY},
)
GOOD_ORDER = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["web", " tmall "]),
        "external_id": st.sampled_from(["O-1", " O-2 "]),
        "placed_at": st.sampled_from(
            ["2025-03-01T10:30:00+08:00", "2025-03-01", dt.datetime(2025, 3, 1, tzinfo=dt.UTC)]
        ),
        "lines": st.lists(GOOD_LINE, min_size=1, max_size=3),
    },
    optional={
        "customer_external_id": st.sampled_from(["KNOWN", " KNOWN ", ""]),
        "store": st.sampled_from(["", "shop-1"]),
        "status": st.sampled_from(["paid", " shipped ", ""]),
        "currency": st.sampled_from(["", "cny", " usd "]),
        "discount_total": GOOD_MONEY,
        "shipping_total": GOOD_MONEY,
        "total": GOOD_MONEY,
        "shipped_at": st.sampled_from(["", "2025-03-02 08:00:00"]),
        "carrier": st.sampled_from(["", " SF "]),
        "tracking_number": st.sampled_from(["", "SF123"]),
        "shipping_address": st.sampled_from(["", " 上海市浦东新区世纪大道1号 "]),
    },
)


@pytest.fixture
def shop() -> None:
    Product.objects.create(sku="KNOWN-1", name="Known tea", price=Decimal("12.50"))
    Product.objects.create(sku="KNOWN-2", name="Known cup", price=Decimal("3.00"))
    Product.objects.create(sku="FREE", name="Sample", price=Decimal("0.00"))
    Store.objects.create(code="shop-1", name="Shop one")
    buyer = Customer.objects.create(name="Buyer", registered_at=timezone.now())
    for channel in ("web", "tmall"):
        Identity.objects.create(customer=buyer, channel=channel, external_id="KNOWN")


def _outcome(clean: Any, data: dict[str, Any]) -> Any:
    try:
        return ("cleaned", clean(data))
    except InvalidInput as exc:
        return ("refused", [(e.field, e.code, e.message) for e in exc.errors])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(st.one_of(ORDER, GOOD_ORDER), min_size=1, max_size=4))
def test_bulk_cleaner_agrees_with_the_api_cleaner(shop: None, orders: list[dict[str, Any]]) -> None:
    bulk = BulkOrderCleaner(CatalogueCache())
    for order in orders:
        expected = _outcome(lambda data: clean_order(data, cache=CatalogueCache()), order)
        event("fast path" if bulk._fast(order) is not None else "full cleaner")
        assert _outcome(bulk.clean, order) == expected
        assert _outcome(bulk.clean, order) == expected  # again, from what it remembered


def test_an_ordinary_export_order_takes_the_fast_path(shop: None) -> None:
    """The common order is cleaned without the full cleaner (else the bulk path would not be faster)."""
    order = {
        "channel": "web",
        "external_id": "O-1",
        "customer_external_id": "KNOWN",
        "status": "paid",
        "placed_at": "2025-03-01T10:30:00+08:00",
        "shipping_total": "8.00",
        "shipping_address": "上海市浦东新区世纪大道1号",
        "lines": [
            {"sku": "KNOWN-1", "quantity": "2"},
            {"sku": "NEW-1", "name": "Cup", "quantity": "1", "unit_price": "3.50"},
        ],
    }
    bulk = BulkOrderCleaner(CatalogueCache())
    cleaned = bulk._fast(order)
    assert cleaned is not None
    assert cleaned == clean_order(order, cache=CatalogueCache())
    assert cleaned["total"] == Decimal("36.50")
