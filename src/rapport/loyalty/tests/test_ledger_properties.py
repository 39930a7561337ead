"""Hypothesis stateful test: random sequences of earn, spend, expire, refund and adjust on the
points ledger and of top-up, spend, refund and adjust on stored value keep every invariant:
balance == sum(entries) == sum(open lots) >= 0, a spend is refused exactly when it is too big,
and a refused operation changes nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, Entry, EntryKind, ExpiryPolicy, Lot, TopUpBonus
from rapport.loyalty.services import adjustments, ledger, points, stored_value
from rapport.loyalty.services.ledger import Posting
from rapport.loyalty.services.program import program_settings

ACTOR = Actor.system("hypothesis")
_keys = itertools.count()
_customers = itertools.count()


def _key() -> str:
    return f"h{next(_keys)}"


def _sum(queryset: Any, field: str) -> Decimal:
    return Decimal(queryset.aggregate(total=Sum(field))["total"] or 0).quantize(Decimal("0.01"))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.customer = Customer.objects.create(name=f"H{next(_customers)}", registered_at=timezone.now())
        self.spends: list[Entry] = []
        self.returned: set[int] = set()
        self.stored = Decimal(0)  # the model of principal + bonus

    def _balance(self, asset: str) -> Decimal:
        account = Account.objects.filter(customer=self.customer, asset=asset).first()
        return account.balance if account else Decimal(0)

    @rule(amount=st.integers(1, 500), days_ago=st.integers(0, 60))
    def earn(self, amount: int, days_ago: int) -> None:
        points.award(
            self.customer, points=amount, key=_key(), actor=ACTOR, earned_at=timezone.now() - timedelta(days=days_ago)
        )

    @rule(amount=st.integers(1, 800))
    def spend(self, amount: int) -> None:
        account = ledger.lock_account(self.customer.pk, Asset.POINTS)
        before = self._balance(Asset.POINTS)
        can = ledger.spendable(account) >= amount
        try:
            self.spends.append(points.spend(self.customer, points=amount, key=_key(), actor=ACTOR))
            assert can
        except Conflict:
            assert not can
            assert self._balance(Asset.POINTS) == before

    @rule()
    def expire(self) -> None:
        points.expire_all()
        overdue = Lot.objects.filter(account__customer=self.customer, remaining__gt=0, expires_at__lte=timezone.now())
        assert not overdue.exists()

    @rule(data=st.data())
    def refund_a_spend(self, data: st.DataObject) -> None:
        open_spends = [entry for entry in self.spends if entry.pk not in self.returned]
        if not open_spends:
            return
        spent = data.draw(st.sampled_from(open_spends))
        account = ledger.lock_account(self.customer.pk, Asset.POINTS)
        ledger.return_debit(account, spent, Posting(EntryKind.RETURN, f"{spent.idempotency_key}:r", ACTOR))
        self.returned.add(spent.pk)

    @rule(delta=st.integers(-300, 300).filter(bool))
    def adjust_points(self, delta: int) -> None:
        before = self._balance(Asset.POINTS)
        try:
            adjustments.adjust(self.customer, asset=Asset.POINTS, delta=delta, reason="test", key=_key(), actor=ACTOR)
        except Conflict:
            assert delta < 0 and self._balance(Asset.POINTS) == before

    @rule(amount=st.decimals(Decimal("0.01"), Decimal("1500"), places=2))
    def top_up(self, amount: Decimal) -> None:
        movement = stored_value.top_up(self.customer, amount=amount, key=_key(), actor=ACTOR)
        self.stored += movement.total

    @rule(amount=st.decimals(Decimal("0.01"), Decimal("800"), places=2))
    def spend_stored_value(self, amount: Decimal) -> None:
        try:
            stored_value.spend(self.customer, amount=amount, key=_key(), actor=ACTOR)
            self.stored -= amount
        except Conflict:
            assert amount > self.stored

    @rule(share=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1")]))
    def refund_stored_value(self, share: Decimal) -> None:
        principal = self._balance(Asset.PRINCIPAL)
        amount = (principal * share).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        movement = stored_value.refund_principal(self.customer, amount=amount, key=_key(), reason="r", actor=ACTOR)
        self.stored -= movement.total

    @invariant()
    def balances_are_sums_and_never_negative(self) -> None:
        for account in Account.objects.filter(customer=self.customer):
            entries = _sum(Entry.objects.filter(account=account), "amount")
            lots = _sum(Lot.objects.filter(account=account), "remaining")
            assert account.balance == entries == lots
            assert account.balance >= 0
        assert self._balance(Asset.PRINCIPAL) + self._balance(Asset.BONUS) == self.stored


@pytest.mark.django_db
def test_ledgers_keep_their_invariants_under_random_operations() -> None:
    program = program_settings()
    program.points_expiry, program.points_expiry_days = ExpiryPolicy.ROLLING_DAYS, 30
    program.save()
    TopUpBonus.objects.create(minimum=Decimal("500"), bonus=Decimal("50"))
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
