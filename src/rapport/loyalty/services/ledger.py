"""The one ledger every balance-carrying asset (points, stored value principal and bonus) uses.

Rules kept here and nowhere else:

- A change is an :class:`~rapport.loyalty.models.Entry` with a globally unique idempotency key.
  Posting the same key again returns the first entry (and refuses a different amount or account).
- The account row is locked (``SELECT … FOR UPDATE``, in primary-key order when several) before
  the balance is read, so concurrent debits queue up instead of both seeing the same balance. The
  balance is updated in the same transaction as the entry; a check constraint keeps it ``>= 0``.
- A credit opens a lot; a debit first expires the account's overdue lots, then takes from the
  oldest lots (by earn date) and records each take, so returning a debit refills the same lots.

The statements every earn and spend runs (lock, entry, balance, lot, FIFO take) are written as
SQL on Django's connection rather than built by the ORM: building the queries cost about three
times the database's own work (docs/benchmarks.md, ledger). They are plain enough to run as they
are on SQLite and PostgreSQL. Rare paths (expiry sweeps, returns, merges) use the ORM.

Callers run inside ``transaction.atomic`` (every public service does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, DomainError, InvalidInput
from rapport.loyalty.models import ZERO, Account, Entry, EntryKind, Lot, LotUse

CENT = Decimal("0.01")
# The order a statement is shown in: newest booking first. Balance-after is the running balance in
# booking order; an entry may be dated earlier than the one booked before it (an order imported
# late earns at its own date), so sorting by date would show balances that do not follow.
STATEMENT_ORDER = ("-id",)
LOT_BATCH = 10  # lots read at a time by a debit: most debits need one or two

_TABLES = {
    "account": Account._meta.db_table,
    "entry": Entry._meta.db_table,
    "lot": Lot._meta.db_table,
    "lot_use": LotUse._meta.db_table,
}
_ENTRY_COLUMNS = (
    "account_id, kind, amount, balance_after, idempotency_key, occurred_at, order_id, reference, reason, actor"
)


def _sql(text: str) -> str:
    return text.format(**_TABLES)


_INSERT_ENTRY = _sql(
    f"INSERT INTO {{entry}} ({_ENTRY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
_MOVE_BALANCE = _sql("UPDATE {account} SET balance = %s, updated_at = %s WHERE id = %s")
# Writes that belong with a new entry (its lot, its takes from lots) read the entry's id from
# WRITTEN: on PostgreSQL the entry's own statement (``WITH written AS (INSERT … RETURNING id)``),
# elsewhere a one-row select of the id, passed as the statement's last parameter.
WRITTEN = "@written"
_OPEN_LOT = _sql(
    "INSERT INTO {lot} (account_id, entry_id, earned_at, expires_at, amount, remaining) "  # noqa: S608
    f"SELECT %s, written.id, %s, %s, %s, %s FROM {WRITTEN} AS written"
)


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _amount(value: Any) -> Decimal:
    """A stored amount as Decimal (SQLite hands numeric columns back as int or float)."""
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(CENT)


def _moment(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


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
    """The customer's accounts for ``assets``, created if missing, locked in primary-key order.

    The same statement tells each account whether it holds overdue lots (``has_overdue_lots``),
    so a debit sweeps expiry only when there is something to sweep.
    """
    wanted = sorted(set(assets))
    sql = _sql(
        "SELECT a.id, a.asset, a.balance, EXISTS (SELECT 1 FROM {lot} l WHERE l.account_id = a.id "  # noqa: S608
        "AND l.remaining > 0 AND l.expires_at <= %s) FROM {account} a "
        "WHERE a.customer_id = %s AND a.asset IN (" + ", ".join(["%s"] * len(wanted)) + ") ORDER BY a.id"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    now = _moment(timezone.now())

    def locked() -> dict[str, Account]:
        found = {}
        for pk, asset, balance, overdue in _rows(sql, [now, customer_id, *wanted]):
            account = Account.from_db(
                connection.alias, ["id", "customer_id", "asset", "balance"], (pk, customer_id, asset, _amount(balance))
            )
            account.has_overdue_lots = bool(overdue)
            found[asset] = account
        return found

    found = locked()
    if len(found) < len(wanted):  # first use of an asset: create it, then lock all in order
        ensure_accounts(customer_id, wanted)
        found = locked()
    return found


def lock_account(customer_id: int, asset: str) -> Account:
    return lock_accounts(customer_id, [asset])[asset]


def key_reused() -> DomainError:
    return Conflict.single(
        "idempotency_key", "reused", _("This idempotency key was already used for a different request.")
    )


def replayed(key: str, account: Account, amount: Decimal | None) -> Entry | None:
    """The entry already posted under ``key``; Conflict when the key was used for something else."""
    entry = Entry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if entry.account_id != account.pk or (amount is not None and abs(entry.amount) != amount):
        raise key_reused()
    return entry


def _check_amount(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise InvalidInput.single("amount", "not_positive", _("The amount must be greater than zero."))
    if amount != amount.quantize(CENT):
        raise InvalidInput.single("amount", "precision", _("The amount has at most two decimal places."))
    return amount


def _write_entry(
    account: Account, amount: Decimal, posting: Posting, now: datetime, with_entry: Sequence[tuple[str, list[Any]]] = ()
) -> Entry | None:
    """Insert the entry, move the balance and run the ``with_entry`` statements (which read the new
    id from :data:`WRITTEN`); None, and nothing written, when the key is taken.

    ``ON CONFLICT DO NOTHING`` makes the unique key the idempotency check: a retry costs no extra
    read, and the caller looks the first entry up only when this returns None. On PostgreSQL all
    of it is one statement, a round trip instead of three or four.
    """
    balance_after = account.balance + amount
    if balance_after < 0:  # guarded by callers; the check constraint is the last line
        raise Conflict.single("amount", "insufficient", _("The balance is too low."))
    entry = Entry(
        account=account,
        kind=posting.kind,
        amount=amount,
        balance_after=balance_after,
        idempotency_key=posting.key,
        occurred_at=posting.at or now,
        order=posting.order,
        reference=posting.reference[:200],
        reason=posting.reason[:300],
        actor=posting.actor.describe()[:150],
    )
    entry_params = [
        account.pk,
        entry.kind,
        amount,
        balance_after,
        entry.idempotency_key,
        _moment(entry.occurred_at),
        entry.order_id,
        entry.reference,
        entry.reason,
        entry.actor,
    ]
    balance_params = [balance_after, _moment(now), account.pk]
    if connection.vendor == "postgresql":
        parts = [f"written AS ({_INSERT_ENTRY})", f"moved AS ({_MOVE_BALANCE} AND EXISTS (SELECT 1 FROM written))"]  # noqa: S608
        params = entry_params + balance_params
        for number, (sql, extra) in enumerate(with_entry):
            parts.append(f"with_entry_{number} AS ({sql.replace(WRITTEN, 'written')})")
            params += extra
        inserted = _rows(f"WITH {', '.join(parts)} SELECT id FROM written", params)  # noqa: S608
    else:
        inserted = _rows(_INSERT_ENTRY, entry_params)
        if inserted:
            _rows(_MOVE_BALANCE, balance_params)
            for sql, extra in with_entry:
                _rows(sql.replace(WRITTEN, "(SELECT %s AS id)"), [*extra, inserted[0][0]])
    if not inserted:
        return None
    entry.pk = inserted[0][0]
    entry._state.adding = False
    account.balance = balance_after
    return entry


def _first_entry(key: str, account: Account, amount: Decimal) -> Entry:
    """The entry a clashing key belongs to (checked like any replay)."""
    entry = replayed(key, account, amount)
    assert entry is not None  # the insert just clashed on this key, inside our transaction
    return entry


def credit(account: Account, amount: Decimal, posting: Posting, *, expires_at: datetime | None = None) -> Entry:
    """Add ``amount`` to a locked account as a new lot (earned now, expiring at ``expires_at``)."""
    _check_amount(amount)
    now = timezone.now()
    lot = [account.pk, _moment(posting.at or now), _moment(expires_at), amount, amount]
    entry = _write_entry(account, amount, posting, now, [(_OPEN_LOT, lot)])
    if entry is None:
        return _first_entry(posting.key, account, amount)
    if expires_at is not None and expires_at <= now:
        account.has_overdue_lots = True
    return entry


def expire_due_lots(account: Account, now: datetime | None = None) -> list[Entry]:
    """Expire what is left of the locked account's lots whose expiry has passed; one entry per lot."""
    now = now or timezone.now()
    overdue = _rows(
        _sql(
            "SELECT id, remaining FROM {lot} WHERE account_id = %s AND remaining > 0 AND expires_at <= %s "
            "ORDER BY expires_at, id"
        ),
        [account.pk, _moment(now)],
    )
    entries = []
    for lot_id, remaining in overdue:
        left = _amount(remaining)
        posting = Posting(EntryKind.EXPIRE, f"expire:lot:{lot_id}", Actor.system("expiry"), at=now)
        entry = _write_entry(account, -left, posting, now)
        if entry is None:  # swept before under the same key
            continue
        LotUse.objects.create(entry=entry, lot_id=lot_id, amount=left)
        Lot.objects.filter(pk=lot_id).update(remaining=ZERO)
        entries.append(entry)
    account.has_overdue_lots = False
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
    now = timezone.now()
    if account.has_overdue_lots:
        expire_due_lots(account, now)
    if account.balance < amount:
        existing = replayed(posting.key, account, amount)  # a retry after the balance moved on
        if existing is not None:
            return existing
        raise Conflict.single(
            insufficient_field,
            "insufficient",
            _("The balance is %(balance)s, less than %(amount)s.") % {"balance": account.balance, "amount": amount},
        )
    entry = _write_entry(account, -amount, posting, now, _lot_takes(account, amount, first_lot_id))
    if entry is None:
        return _first_entry(posting.key, account, amount)
    return entry


def _lot_takes(account: Account, amount: Decimal, first_lot_id: int | None) -> list[tuple[str, list[Any]]]:
    """The statements that consume ``amount`` from the open lots, oldest first, and record each
    take (so returning the debit refills the same lots)."""
    preferred = "CASE WHEN id = %s THEN 0 ELSE 1 END, " if first_lot_id else ""
    select_batch = _sql(
        f"SELECT id, remaining FROM {{lot}} WHERE account_id = %s AND remaining > 0 "  # noqa: S608
        f"ORDER BY {preferred}earned_at, id LIMIT %s OFFSET %s"
    )
    left = amount
    takes: list[tuple[int, Decimal, Decimal]] = []  # lot id, amount taken, remaining after
    while left > 0:
        params = [account.pk, *([first_lot_id] if first_lot_id else []), LOT_BATCH, len(takes)]
        batch = _rows(select_batch, params)
        for lot_id, remaining in batch:
            take = min(left, _amount(remaining))
            takes.append((lot_id, take, _amount(remaining) - take))
            left -= take
            if left == 0:
                break
        if len(batch) < LOT_BATCH:
            break
    if left != 0:  # the lots disagree with the balance: never paper over it
        raise RuntimeError(f"account #{account.pk}: lots hold less than the balance")
    values = ", ".join(["(%s, %s)"] * len(takes))
    lot, lot_use = _TABLES["lot"], _TABLES["lot_use"]
    return [
        (
            f"UPDATE {lot} SET remaining = taken.column2 FROM (VALUES {values}) AS taken "  # noqa: S608
            f"WHERE {lot}.id = taken.column1 AND EXISTS (SELECT 1 FROM {WRITTEN} AS written)",
            [value for lot_id, _taken, after in takes for value in (lot_id, after)],
        ),
        (
            f"INSERT INTO {lot_use} (entry_id, lot_id, amount) SELECT written.id, taken.column1, taken.column2 "  # noqa: S608
            f"FROM (VALUES {values}) AS taken, {WRITTEN} AS written",
            [value for lot_id, taken, _after in takes for value in (lot_id, taken)],
        ),
    ]


def return_debit(account: Account, spent: Entry, posting: Posting) -> Entry:
    """Undo a debit: refill the lots it took from (expired lots expire again at the next sweep)."""
    existing = replayed(posting.key, account, abs(spent.amount))
    if existing is not None:
        return existing
    if spent.amount >= 0 or spent.account_id != account.pk:
        raise InvalidInput.single("entry", "not_a_debit", _("Only a debit of this account can be returned."))
    entry = _write_entry(account, -spent.amount, posting, timezone.now())
    if entry is None:
        return _first_entry(posting.key, account, abs(spent.amount))
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
