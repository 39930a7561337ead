from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import Account, Asset, Entry, EntryKind, Lot
from rapport.loyalty.services import adjustments, ledger, points
from rapport.loyalty.services.ledger import Posting


def _credit(customer: Customer, amount: str, key: str, *, expires_in_days: int | None = None, **kw: Any) -> Entry:
    with transaction.atomic():
        account = ledger.lock_account(customer.pk, Asset.POINTS)
        expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
        posting = Posting(EntryKind.EARN, key, Actor.system(), **kw)
        return ledger.credit(account, Decimal(amount), posting, expires_at=expires)


def _debit(customer: Customer, amount: str, key: str) -> Entry:
    with transaction.atomic():
        account = ledger.lock_account(customer.pk, Asset.POINTS)
        return ledger.debit(account, Decimal(amount), Posting(EntryKind.SPEND, key, Actor.system()))


def _balance(customer: Customer) -> Decimal:
    return Account.objects.get(customer=customer, asset=Asset.POINTS).balance


def test_balance_is_the_sum_of_entries_and_of_open_lots(member: Customer) -> None:
    _credit(member, "100", "a")
    _credit(member, "50", "b")
    _debit(member, "120", "c")
    entries = Entry.objects.filter(account__customer=member).aggregate(total=Sum("amount"))["total"]
    lots = Lot.objects.filter(account__customer=member).aggregate(total=Sum("remaining"))["total"]
    assert _balance(member) == entries == lots == Decimal("30")


def test_debit_takes_from_the_oldest_lot_first(member: Customer) -> None:
    first = _credit(member, "100", "old", at=timezone.now() - timedelta(days=30))
    second = _credit(member, "100", "new")
    _debit(member, "130", "spend")
    assert Lot.objects.get(entry=first).remaining == 0
    assert Lot.objects.get(entry=second).remaining == Decimal("70")


def test_same_key_returns_the_first_entry_and_changes_nothing(member: Customer) -> None:
    first = _credit(member, "100", "k")
    assert _credit(member, "100", "k") == first
    assert _balance(member) == Decimal("100")
    with pytest.raises(Conflict) as caught:
        _credit(member, "99", "k")
    assert caught.value.errors[0].field == "idempotency_key"


def test_debit_beyond_the_balance_is_refused_and_writes_nothing(member: Customer) -> None:
    _credit(member, "10", "a")
    with pytest.raises(Conflict) as caught:
        _debit(member, "11", "b")
    assert caught.value.errors[0].code == "insufficient"
    assert _balance(member) == Decimal("10") and Entry.objects.count() == 1


def test_overdue_lots_expire_before_a_debit(member: Customer) -> None:
    _credit(member, "100", "old", expires_in_days=-1)
    _credit(member, "20", "new")
    with pytest.raises(Conflict):
        _debit(member, "50", "spend")
    # the refused debit rolled back, so the sweep runs again for the job
    assert points.expire_all() == 1
    assert _balance(member) == Decimal("20")
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).get().amount == Decimal("-100")


def test_returned_debit_refills_the_lots_it_took(member: Customer) -> None:
    lot_entry = _credit(member, "100", "a")
    spent = _debit(member, "60", "b")
    with transaction.atomic():
        account = ledger.lock_account(member.pk, Asset.POINTS)
        ledger.return_debit(account, spent, Posting(EntryKind.RETURN, "b:return", Actor.system()))
        ledger.return_debit(account, spent, Posting(EntryKind.RETURN, "b:return", Actor.system()))
    assert Lot.objects.get(entry=lot_entry).remaining == Decimal("100")
    assert _balance(member) == Decimal("100")


def test_amounts_must_be_positive_with_two_decimals(member: Customer) -> None:
    with pytest.raises(InvalidInput):
        _credit(member, "0", "a")
    with pytest.raises(InvalidInput):
        _credit(member, "1.001", "b")


def test_adjustment_needs_a_reason_and_is_audited(member: Customer, system_actor: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        adjustments.adjust(member, asset=Asset.POINTS, delta=10, reason=" ", key="k", actor=system_actor)
    assert caught.value.errors[0].field == "reason"
    entry = adjustments.adjust(member, asset=Asset.POINTS, delta=10, reason="Goodwill", key="k", actor=system_actor)
    again = adjustments.adjust(member, asset=Asset.POINTS, delta=10, reason="Goodwill", key="k", actor=system_actor)
    assert entry == again and entry.reason == "Goodwill"
    audit = AuditEntry.objects.filter(object_id=str(member.pk), action=AuditEntry.Action.UPDATE).first()
    assert audit is not None and audit.changes["reason"] == "Goodwill"
    with pytest.raises(Conflict):
        adjustments.adjust(member, asset=Asset.POINTS, delta=-11, reason="Fix", key="k2", actor=system_actor)
    with pytest.raises(InvalidInput):
        adjustments.adjust(member, asset=Asset.POINTS, delta="1.5", reason="Fix", key="k3", actor=system_actor)


def test_expiring_points_are_listed_by_date(member: Customer) -> None:
    _credit(member, "30", "soon", expires_in_days=5)
    _credit(member, "70", "later", expires_in_days=90)
    soon = points.expiring(member.pk, within_days=30)
    assert [amount for _when, amount in soon] == [Decimal("30")]
