"""Analytics fixtures: the CDNOW sample (a copy of ../shared/data/cdnow, see data/CDNOW_README.md)
and a small shop of orders placed at known times."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.commerce.models import Category, Order, OrderLine, OrderStatus, Product
from rapport.commerce.stats import refresh_customer_stats
from rapport.customers.models import Customer
from rapport.testing.fixtures import STAFF_PASSWORD

DATA = Path(__file__).parent / "data"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the incremental job scores as of now
_numbers = itertools.count(1)


@pytest.fixture
def cdnow_sample_path() -> Path:
    return DATA / "CDNOW_sample.txt"


@pytest.fixture
def cdnow_sample_csv(tmp_path: Path, cdnow_sample_path: Path) -> Path:
    """The CDNOW sample as the analyst's CSV (customer_id,date,amount)."""
    lines = ["customer_id,date,amount"]
    for row in cdnow_sample_path.read_text().split("\n"):
        if row.strip():
            customer, _sample, day, _cds, amount = row.split()
            lines.append(f"{customer},{day[:4]}-{day[4:6]}-{day[6:]},{amount}")
    path = tmp_path / "cdnow.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def category(db: Any) -> Category:
    return Category.objects.create(code="tea", name="Tea")


@pytest.fixture
def place_order(db: Any, category: Category) -> Callable[..., Order]:
    """An order (one line in ``category``) written directly: the analytics read orders, they do not
    care how they arrived, and the services' side effects are not under test here."""
    product = Product.objects.create(sku="TEA-1", name="Oolong", category=category, price=Decimal("10.00"))

    def place(
        customer: Customer,
        days_ago: float,
        total: str = "100.00",
        *,
        discount: str = "0.00",
        status: str = OrderStatus.PAID,
        store: Any = None,
        channel: str = "web",
    ) -> Order:
        amount = Decimal(total)
        order = Order.objects.create(
            customer=customer,
            store=store or customer.store,
            channel=channel,
            external_id=f"o-{next(_numbers)}",
            status=status,
            subtotal=amount + Decimal(discount),
            discount_total=Decimal(discount),
            total=amount,
            placed_at=NOW - dt.timedelta(days=days_ago),
        )
        OrderLine.objects.create(
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=1,
            unit_price=amount,
            line_total=amount,
        )
        refresh_customer_stats([customer.pk])
        return order

    return place


@pytest.fixture
def signed_in(make_staff: Callable[..., Any]) -> Callable[..., tuple[Client, Any]]:
    """A console client signed in as a new staff member of ``role``."""

    def sign_in(role: str = roles.ANALYST, **kwargs: Any) -> tuple[Client, Any]:
        user = make_staff(role, **kwargs)
        client = Client()
        assert client.login(username=user.username, password=STAFF_PASSWORD)
        return client, user

    return sign_in


@pytest.fixture
def shop(make_customer: Callable[..., Any], place_order: Callable[..., Any], store: Any) -> dict[str, Any]:
    """Three customers with orders in the last months (one of them in ``store``), metrics computed."""
    from rapport.analytics import metrics

    amy = make_customer(name="Amy", store=store.code)
    bob = make_customer(name="Bob")
    cai = make_customer(name="Cai")
    place_order(amy, 200, "120.00", channel="store")
    place_order(amy, 20, "80.00", channel="store")
    place_order(amy, 5, "100.00", channel="web")
    place_order(bob, 40, "300.00", channel="web", discount="30.00")
    place_order(cai, 400, "50.00", channel="app")
    metrics.recompute_all(now=NOW)
    return {"amy": amy, "bob": bob, "cai": cai, "store": store}
