"""Analytics fixtures: the CDNOW sample (a copy of ../shared/data/cdnow, see data/CDNOW_README.md)
a small shop of orders placed at known times, and a loyalty programme (levels, points, stored value)
written through the loyalty services."""

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
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import EarnRule, EarnRuleKind, ExpiryPolicy, Level, TopUpBonus
from rapport.loyalty.services import adjustments, levels, points, stored_value
from rapport.loyalty.services.program import program_settings
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


@pytest.fixture
def loyalty_members(
    make_customer: Callable[..., Any], place_order: Callable[..., Order], store: Any, system_actor: Actor
) -> dict[str, Any]:
    """Levels Gold and Silver; Amy (of ``store``, Gold) with three orders, Bob (Silver) with one
    order partly refunded, Dan (Gold, then down to Silver) without orders, Cai (no level) whose only
    order is older than a year. Each order earned one point per unit; points expire after 30 days."""
    program = program_settings()
    program.points_expiry = ExpiryPolicy.ROLLING_DAYS
    program.points_expiry_days = 30
    program.save()
    EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1"))
    gold = Level.objects.create(name="Gold", rank=2, threshold=Decimal("2000"))
    silver = Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"))
    amy = make_customer(name="Amy", store=store.code)
    bob = make_customer(name="Bob")
    cai = make_customer(name="Cai")
    dan = make_customer(name="Dan")
    orders = {
        "amy_old": place_order(amy, 200, "120.00"),
        "amy_recent": place_order(amy, 20, "80.00"),
        "amy_latest": place_order(amy, 5, "100.00"),
        "bob": place_order(bob, 40, "300.00"),
        "cai": place_order(cai, 400, "50.00"),
    }
    Order.objects.filter(pk=orders["bob"].pk).update(refunded_total=Decimal("100.00"))
    for order in orders.values():
        points.earn_for_order(order, actor=system_actor)
    levels.set_level(amy, level=gold, reason="VIP", actor=system_actor)
    levels.set_level(bob, level=silver, reason="VIP", actor=system_actor)
    levels.set_level(dan, level=gold, reason="VIP", actor=system_actor)
    levels.set_level(dan, level=silver, reason="Lapsed", actor=system_actor)
    return {"amy": amy, "bob": bob, "cai": cai, "dan": dan, "store": store, "orders": orders}


@pytest.fixture
def points_used(loyalty_members: dict[str, Any], system_actor: Actor) -> dict[str, Any]:
    """Overdue lots expired (Amy 120, Bob 300, Cai 50); Amy redeems 50 and her latest order's 100
    are reversed (cancelled); Bob is given 20 by hand. Left: Amy 30, Bob 20, all expiring within
    30 days."""
    points.expire_all()
    points.spend(loyalty_members["amy"], points=50, key="gift-1", actor=system_actor)
    points.reverse_for_cancellation(loyalty_members["orders"]["amy_latest"], actor=system_actor)
    adjustments.adjust(
        loyalty_members["bob"], asset="points", delta=20, reason="Apology", key="sorry-1", actor=system_actor
    )
    return loyalty_members


@pytest.fixture
def stored_value_used(loyalty_members: dict[str, Any], system_actor: Actor) -> dict[str, Any]:
    """Amy pays 1000 and gets 100 bonus, spends 50 (bonus first), takes 500 principal back (half her
    principal, so half her remaining bonus, 25, is forfeited); Bob pays 500 and takes 200 back."""
    TopUpBonus.objects.create(minimum=Decimal("1000"), bonus=Decimal("100"))
    amy, bob = loyalty_members["amy"], loyalty_members["bob"]
    stored_value.top_up(amy, amount="1000.00", key="t1", actor=system_actor)
    stored_value.spend(amy, amount="50.00", key="s1", actor=system_actor)
    stored_value.refund_principal(amy, amount="500.00", key="r1", reason="Moving away", actor=system_actor)
    stored_value.top_up(bob, amount="500.00", key="t2", actor=system_actor)
    stored_value.refund_principal(bob, amount="200.00", key="r2", reason="Changed mind", actor=system_actor)
    return loyalty_members


@pytest.fixture
def team(make_staff: Callable[..., Any], make_customer: Callable[..., Any], store: Any) -> dict[str, Any]:
    """Three sales staff at ``store``; ``owner`` owns the one customer, a member of that store."""
    owner = make_staff(roles.SALES, store=store, username="owner")
    helper = make_staff(roles.SALES, store=store, username="helper")
    other = make_staff(roles.SALES, store=store, username="other")
    customer = make_customer()
    customer.owner, customer.store = owner, store
    customer.save(update_fields=["owner", "store"])
    return {"owner": owner, "helper": helper, "other": other, "customer": customer, "store": store}
