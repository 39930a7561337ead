"""50 threads on PostgreSQL spend the same balance and redeem the same coupon at once: exactly
what the balance allows succeeds, the rest get a clear error, nothing is spent twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, Coupon, CouponEvent, CouponStatus, Entry, EntryKind, Redemption
from rapport.loyalty.services import checkout, coupons, points, stored_value
from rapport.loyalty.services.cart import Cart
from rapport.loyalty.tests.factories import coupon_template
from rapport.testing.concurrency import run_at_once

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
THREADS = 50


def _outcomes(results: list[object]) -> tuple[int, list[Exception]]:
    failures = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(f, Conflict) for f in failures), failures
    return len(results) - len(failures), failures


def test_fifty_threads_spending_one_points_balance(member: Customer, no_expiry: None) -> None:
    actor = Actor.system("shop")
    points.award(member, points=1000, key="seed", actor=actor)
    results = run_at_once(
        [lambda i=i: points.spend(member, points=100, key=f"spend-{i}", actor=actor) for i in range(THREADS)]
    )
    succeeded, failures = _outcomes(results)
    assert succeeded == 10
    assert {f.errors[0].code for f in failures} == {"insufficient"}  # type: ignore[attr-defined]
    assert Account.objects.get(customer=member, asset=Asset.POINTS).balance == 0
    assert Entry.objects.filter(kind=EntryKind.SPEND).count() == 10


def test_fifty_threads_spending_stored_value(member: Customer) -> None:
    actor = Actor.system("shop")
    stored_value.top_up(member, amount="500.00", key="seed", actor=actor)
    results = run_at_once(
        [lambda i=i: stored_value.spend(member, amount="30.00", key=f"s-{i}", actor=actor) for i in range(THREADS)]
    )
    succeeded, _failures = _outcomes(results)
    assert succeeded == 16  # 16 × 30 = 480 ≤ 500 < 17 × 30
    assert stored_value.balance(member.pk)["total"] == Decimal("20.00")


def test_fifty_threads_redeeming_one_coupon(member: Customer) -> None:
    actor = Actor.system("shop")
    coupon = coupons.issue(coupon_template(), member, key="k", actor=actor)
    cart = Cart(total=Decimal("150"))
    results = run_at_once(
        [
            lambda i=i: coupons.redeem(coupon.code, member, cart, key=f"o-{i}", order_reference=f"o-{i}", actor=actor)
            for i in range(THREADS)
        ]
    )
    succeeded, failures = _outcomes(results)
    assert succeeded == 1
    assert {f.errors[0].code for f in failures} == {"coupon_redeemed"}  # type: ignore[attr-defined]
    assert Coupon.objects.get(pk=coupon.pk).status == CouponStatus.REDEEMED
    assert CouponEvent.objects.filter(kind=CouponEvent.Kind.REDEEM).count() == 1


def test_fifty_checkouts_with_the_same_key_make_one_redemption(member: Customer, no_expiry: None) -> None:
    actor = Actor.system("shop")
    points.award(member, points=1000, key="seed", actor=actor)
    cart = Cart(total=Decimal("100"))
    results = run_at_once(
        [
            lambda: checkout.redeem(member, cart, key="order-1", order_reference="order-1", actor=actor, points=500)
            for _ in range(THREADS)
        ]
    )
    succeeded, _failures = _outcomes(results)
    assert succeeded == THREADS  # every retry gets the first redemption back
    assert Redemption.objects.count() == 1
    assert Account.objects.get(customer=member, asset=Asset.POINTS).balance == Decimal("500")
