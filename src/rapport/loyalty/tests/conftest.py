"""Loyalty fixtures: a member, a programme with one earn rule and three levels, orders placed
through the real commerce services (so the signals fire as in production)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import EarnRule, EarnRuleKind, ExpiryPolicy, Level
from rapport.loyalty.services.program import program_settings

_orders = itertools.count(1)


@pytest.fixture
def member(make_customer: Callable[..., Customer]) -> Customer:
    return make_customer(name="Wang Fang", phone="13900000001", email="wang.fang@example.com")


@pytest.fixture
def earn_rule(db: Any) -> EarnRule:
    """One point per currency unit, rounded down."""
    return EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1"))


@pytest.fixture
def levels(db: Any) -> list[Level]:
    return [
        Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"), keep_threshold=Decimal("300")),
        Level.objects.create(
            name="Gold",
            rank=2,
            threshold=Decimal("2000"),
            keep_threshold=Decimal("1500"),
            points_multiplier=Decimal("2"),
            discount_percent=Decimal("5"),
            free_shipping=True,
        ),
        Level.objects.create(name="Black", rank=3, threshold=Decimal("10000"), keep_threshold=Decimal("8000")),
    ]


@pytest.fixture
def no_expiry(db: Any) -> None:
    program = program_settings()
    program.points_expiry = ExpiryPolicy.NEVER
    program.save()


@pytest.fixture
def place_order(system_actor: Actor) -> Callable[..., Order]:
    def place(customer: Customer, total: str, *, status: str = "paid", external_id: str | None = None) -> Order:
        order, _created = commerce.upsert_order(
            data={
                "channel": "web",
                "external_id": external_id or f"o-{next(_orders)}",
                "customer_id": customer.pk,
                "status": status,
                "placed_at": timezone.now().isoformat(),
                "lines": [{"sku": "GIFT", "name": "Gift box", "quantity": 1, "unit_price": total}],
            },
            actor=system_actor,
        )
        return order

    return place
