"""The one ledger every balance-carrying asset (points, stored value principal and bonus) uses.

Rules kept here and nowhere else:

- A change is an :class:`~rapport.loyalty.models.Entry` with a globally unique idempotency key.
  Posting the same key again returns the first entry (and refuses a different amount or account).
- The account row is locked (``SELECT … FOR UPDATE``, in primary-key order when several) before
  the balance is read, so concurrent debits queue up instead of both seeing the same balance. The
  balance is updated in the same transaction as the entry; a check constraint keeps it ``>= 0``.
- A credit opens a lot; a debit first expires the account's overdue lots, then takes from the
  oldest lots (by earn date) and records each take, so returning a debit refills the same lots.

Callers run inside ``transaction.atomic`` (every public service does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError
from django.db.models import Case, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.loyalty.models import ZERO, Account, Entry, EntryKind, Lot, LotUse

CENT = Decimal("0.01")
LOT_BATCH = 10  # lots read at a time by a debit: most debits need one or two


@dataclass(frozen=True)
class Posting:
    """What an entry says besides its amount: why, for which order, by whom."""

    kind: str
    key: str
    actor: Actor
    reason: str = ""
    reference: str = ""
    order: Order | None = None
    at: datetime | None = None


def ensure_accounts(customer_id: int, assets: Iterable[str]) -> None:
    Account.objects.bulk_create(
        [Account(customer_id=customer_id, asset=asset) for asset in assets], ignore_conflicts=True
    )


def lock_accounts(customer_id: int, assets: Iterable[str]) -> dict[str, Account]:
    """The customer's accounts for ``assets``, created if missing, locked in primary-key order."""
    wanted = sorted(set(assets))

    def locked() -> dict[str, Account]:
        rows = Account.objects.select_for_update().filter(customer_id=customer_id, asset__in=wanted).order_by("pk")
        return {account.asset: account for account in rows}

    found = locked()
    if len(found) < len(wanted):  # first use of an asset: create it, then lock all in order
        ensure_accounts(customer_id, wanted)
        found = locked()
    return found


def lock_account(customer_id: int, asset: str) -> Account:
    return lock_accounts(customer_id, [asset])[asset]


def replayed(key: str, account: Account, amount: Decimal | None) -> Entry | None:
    """The entry already posted under ``key``; Conflict when the key was used for something else."""
    entry = Entry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if entry.account_id != account.pk or (amount is not None and abs(entry.amount) != amount):
        raise Conflict.single(
            "idempotency_key", "reused", _("This idempotency key was already used for a different request.")
        )
    return entry


def _check_amount(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise InvalidInput.single("amount", "not_positive", _("The amount must be greater than zero."))
    if amount != amount.quantize(CENT):
        raise InvalidInput.single("amount", "precision", _("The amount has at most two decimal places."))
    return amount


def _write_entry(account: Account, amount: Decimal, posting: Posting, now: datetime) -> Entry:
    account.balance += amount
    if account.balance < 0:  # guarded by callers; the check constraint is the last line
        raise Conflict.single("amount", "insufficient", _("The balance is too low."))
    try:
        # No savepoint: a clash can only be the same key on another account, and the Conflict
        # raised here ends the caller's transaction anyway.
        entry = Entry.objects.create(
            account=account,
            kind=posting.kind,
            amount=amount,
            balance_after=account.balance,
            idempotency_key=posting.key,
            occurred_at=posting.at or now,
            order=posting.order,
            reference=posting.reference[:200],
            reason=posting.reason[:300],
            actor=posting.actor.describe()[:150],
        )
    except IntegrityError as exc:
        raise Conflict.single(
            "idempotency_key", "reused", _("This idempotency key was already used for a different request.")
        ) from exc
    Account.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=now)
    return entry


def credit(account: Account, amount: Decimal, posting: Posting, *, expires_at: datetime | None = None) -> Entry:
    """Add ``amount`` to a locked account as a new lot (earned now, expiring at ``expires_at``)."""
    _check_amount(amount)
    existing = replayed(posting.key, account, amount)
    if existing is not None:
        return existing
    now = timezone.now()
    entry = _write_entry(account, amount, posting, now)
    Lot.objects.create(
        account=account,
        entry=entry,
        earned_at=entry.occurred_at,
        expires_at=expires_at,
        amount=amount,
        remaining=amount,
    )
    return entry


def expire_due_lots(account: Account, now: datetime | None = None) -> list[Entry]:
    """Expire what is left of the locked account's lots whose expiry has passed; one entry per lot."""
    now = now or timezone.now()
    entries = []
    for lot in Lot.objects.filter(account=account, remaining__gt=0, expires_at__lte=now).order_by("expires_at", "pk"):
        posting = Posting(EntryKind.EXPIRE, f"expire:lot:{lot.pk}", Actor.system("expiry"), at=now)
        if replayed(posting.key, account, None) is not None:
            continue
        entry = _write_entry(account, -lot.remaining, posting, now)
        LotUse.objects.create(entry=entry, lot=lot, amount=lot.remaining)
        Lot.objects.filter(pk=lot.pk).update(remaining=ZERO)
        entries.append(entry)
    return entries


def spendable(account: Account, now: datetime | None = None) -> Decimal:
    """The balance minus lots that are overdue but not swept yet (read-only; for quotes)."""
    overdue = Lot.objects.filter(account=account, remaining__gt=0, expires_at__lte=now or timezone.now()).aggregate(
        total=Sum("remaining")
    )["total"]
    return account.balance - Decimal(overdue or ZERO).quantize(CENT)  # SQLite sums decimals as floats


def debit(
    account: Account,
    amount: Decimal,
    posting: Posting,
    *,
    first_lot_id: int | None = None,
    insufficient_field: str = "amount",
) -> Entry:
    """Take ``amount`` from a locked account, oldest lots first (``first_lot_id`` before them)."""
    _check_amount(amount)
    existing = replayed(posting.key, account, amount)
    if existing is not None:
        return existing
    now = timezone.now()
    expire_due_lots(account, now)
    if account.balance < amount:
        raise Conflict.single(
            insufficient_field,
            "insufficient",
            _("The balance is %(balance)s, less than %(amount)s.") % {"balance": account.balance, "amount": amount},
        )
    entry = _write_entry(account, -amount, posting, now)
    preferred_first = Case(When(pk=first_lot_id, then=Value(0)), default=Value(1)) if first_lot_id else Value(1)
    open_lots = Lot.objects.filter(account=account, remaining__gt=0).order_by(preferred_first, "earned_at", "pk")
    left = amount
    taken: list[Lot] = []
    uses: list[LotUse] = []
    while left > 0:
        batch = list(open_lots.exclude(pk__in=[lot.pk for lot in taken])[:LOT_BATCH])
        for lot in batch:
            take = min(left, lot.remaining)
            lot.remaining -= take
            taken.append(lot)
            uses.append(LotUse(entry=entry, lot=lot, amount=take))
            left -= take
            if left == 0:
                break
        if len(batch) < LOT_BATCH:
            break
    if left != 0:  # the lots disagree with the balance: never paper over it
        raise RuntimeError(f"account #{account.pk}: lots hold less than the balance")
    if len(taken) == 1:
        Lot.objects.filter(pk=taken[0].pk).update(remaining=taken[0].remaining)
    else:
        Lot.objects.bulk_update(taken, ["remaining"])
    LotUse.objects.bulk_create(uses)
    return entry


def return_debit(account: Account, spent: Entry, posting: Posting) -> Entry:
    """Undo a debit: refill the lots it took from (expired lots expire again at the next sweep)."""
    existing = replayed(posting.key, account, abs(spent.amount))
    if existing is not None:
        return existing
    if spent.amount >= 0 or spent.account_id != account.pk:
        raise InvalidInput.single("entry", "not_a_debit", _("Only a debit of this account can be returned."))
    now = timezone.now()
    entry = _write_entry(account, -spent.amount, posting, now)
    for use in LotUse.objects.filter(entry=spent).select_related("lot"):
        Lot.objects.filter(pk=use.lot_id).update(remaining=use.lot.remaining + use.amount)
    return entry


def move_accounts(survivor_id: int, merged_id: int) -> int:
    """Merge: the survivor's accounts take the merged customer's entries, lots and balances."""
    moved = 0
    merged_accounts = list(Account.objects.select_for_update().filter(customer_id=merged_id).order_by("pk"))
    if not merged_accounts:
        return 0
    targets = lock_accounts(survivor_id, [account.asset for account in merged_accounts])
    for source in merged_accounts:
        target = targets[source.asset]
        moved += Entry.objects.filter(account=source).update(account=target)
        Lot.objects.filter(account=source).update(account=target)
        Account.objects.filter(pk=target.pk).update(balance=target.balance + source.balance)
        source.delete()
    return moved


def balances(customer_id: int) -> dict[str, Decimal]:
    return dict(Account.objects.filter(customer_id=customer_id).values_list("asset", "balance"))
