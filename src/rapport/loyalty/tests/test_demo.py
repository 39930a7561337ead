"""The demo step writes ledgers that obey the same invariants as the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from rapport.demo.loader import seed_demo_shop
from rapport.loyalty.models import Account, Coupon, Entry, Lot, LotUse, Membership


def test_demo_ledgers_balance_and_levels_follow_orders(db: Any) -> None:
    report = seed_demo_shop(seed=11, customers=60, end=dt.date(2026, 11, 20))
    assert report.counts["ledger_entries"] > 0
    for account in Account.objects.all():
        entries = Entry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0
        lots = Lot.objects.filter(account=account).aggregate(total=Sum("remaining"))["total"] or 0
        assert account.balance >= 0
        assert Decimal(entries).quantize(Decimal("0.01")) == account.balance == Decimal(lots).quantize(Decimal("0.01"))
    for lot in Lot.objects.all()[:200]:
        used = LotUse.objects.filter(lot=lot).aggregate(total=Sum("amount"))["total"] or 0
        assert Decimal(used).quantize(Decimal("0.01")) == lot.amount - lot.remaining
    assert Membership.objects.filter(level__isnull=False).exists()
    assert Coupon.objects.exists()
