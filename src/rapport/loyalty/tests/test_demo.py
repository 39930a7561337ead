"""The demo step writes ledgers that obey the same invariants as the services."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from django.db.models import Sum

from rapport.commerce.models import Order, Refund
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.demo.steps import DemoContext
from rapport.loyalty.demo import seed_loyalty
from rapport.loyalty.models import Account, Coupon, Entry, Lot, LotUse, Membership

END = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 4, tzinfo=dt.UTC)


def _sum(queryset: object, field: str) -> Decimal:
    return Decimal(queryset.aggregate(total=Sum(field))["total"] or 0).quantize(Decimal("0.01"))  # type: ignore[attr-defined]


def test_demo_ledgers_balance_and_levels_follow_orders(make_customer: Callable[..., Customer]) -> None:
    rng = random.Random(3)
    customers = [make_customer() for _ in range(30)]
    orders = Order.objects.bulk_create(  # bulk, like the demo loader: no signals fire
        Order(
            customer=rng.choice(customers),
            channel="web",
            external_id=f"d{i}",
            status="completed",
            total=Decimal(rng.randint(50, 3000)),
            placed_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 1050)),
        )
        for i in range(300)
    )
    Refund.objects.bulk_create(
        Refund(order=order, external_id=f"r{order.pk}", amount=order.total / 2, refunded_at=order.placed_at)
        for order in orders[:30]
    )
    counts = seed_loyalty(DemoContext(rng=rng, actor=Actor.system("demo"), end=END, say=lambda _m: None, now=NOW))
    assert counts["ledger_entries"] > 300
    for account in Account.objects.all():
        assert account.balance >= 0
        assert _sum(Entry.objects.filter(account=account), "amount") == account.balance
        assert _sum(Lot.objects.filter(account=account), "remaining") == account.balance
    for lot in Lot.objects.all():
        assert _sum(LotUse.objects.filter(lot=lot), "amount") == lot.amount - lot.remaining
    assert Membership.objects.filter(level__isnull=False).exists()
    assert Coupon.objects.exists()
