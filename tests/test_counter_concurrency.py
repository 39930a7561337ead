"""Two tills redeem for the same member at the same moment (PostgreSQL, real row locks): a coupon
is written off once, and the same request sent from both (a retry) makes one redemption."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from rapport.accounts import roles
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict
from rapport.counter import services
from rapport.loyalty.models import CouponEvent, Redemption
from rapport.loyalty.services import coupons, ledger, points
from rapport.loyalty.tests.factories import coupon_template
from rapport.loyalty.tests.test_concurrency import run_at_once

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _tills(make_staff: Any, store: Any) -> list[Actor]:
    return [Actor(user=make_staff(roles.STORE_STAFF, store=store), source=Source.CONSOLE) for _ in range(2)]


def test_two_tills_redeeming_one_coupon_write_it_off_once(make_customer, make_staff, store, system_actor):
    member = make_customer(name="Till Member", phone="13900007777")
    coupon = coupons.issue(coupon_template(threshold=Decimal("0")), member, key="c", actor=system_actor)
    tills = _tills(make_staff, store)
    results = run_at_once(
        [
            lambda till=till, n=n: services.redeem(
                member, receipt=f"R-{n}", total="100", key=f"till-{n}", actor=till, coupon_code=coupon.code
            )
            for n, till in enumerate(tills)
        ]
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], Conflict), results
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert CouponEvent.objects.filter(coupon=coupon, kind="redeem").count() == 1


def test_the_same_redemption_sent_from_two_tills_happens_once(make_customer, make_staff, store, system_actor):
    member = make_customer(name="Retry Member", phone="13900008888")
    points.award(member, points=1000, key="seed", actor=system_actor)
    tills = _tills(make_staff, store)
    results = run_at_once(
        [
            lambda till=till: services.redeem(member, receipt="R-1", total="100", key="same", actor=till, points=500)
            for till in tills
        ]
    )
    assert all(isinstance(r, Redemption) for r in results), results
    assert {r.pk for r in results if isinstance(r, Redemption)} == {Redemption.objects.get().pk}
    assert ledger.balances(member.pk)["points"] == Decimal("500")
