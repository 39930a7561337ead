"""Opening balances: the state of the loyalty system a merchant leaves, written once, set-based.

An opening is what a member held on the day of the move: points (one lot, with the expiry the old
system gave them, not earned under today's rules), stored value principal and bonus (apart, as the
ledger keeps them), and a level with its valid-until. Each balance becomes one ``opening`` entry
per account under the key ``opening:<asset>:<customer>``, with its lot, written for a whole batch
of members with a few multi-row statements. The ledger's rules hold as for any credit: the entry's
balance-after is the locked balance plus the amount, the balance moves with it, a lot holds it.

Posting the same opening again changes nothing; a different amount for an account that already
has its opening is refused (an adjustment is the way to correct it). A level given here is set
without a :class:`~rapport.loyalty.models.LevelChange` (no "upgrade" reward or journey fires for
it), and the review keeps it until its valid-until. Openings earn no growth: growth counts what
was earned, and an opening was earned elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.errors import FieldError
from rapport.loyalty.models import Account, Asset, Entry, EntryKind, Level, Lot, Membership

# The file's field for each asset: errors about an account's opening name it.
ASSET_FIELDS: dict[str, str] = {Asset.POINTS: "points", Asset.PRINCIPAL: "principal", Asset.BONUS: "bonus"}


@dataclass
class Opening:
    """One member's opening state; ``None`` means "not given" (a zero balance opens nothing)."""

    customer_id: int
    points: Decimal | None = None
    points_expires_at: datetime | None = None
    principal: Decimal | None = None
    bonus: Decimal | None = None
    level_id: int | None = None
    level_valid_until: datetime | None = None
    # filled by open_balances: what happened to this member
    created: bool = False
    changed: bool = False
    errors: list[FieldError] = field(default_factory=list)

    def balances(self) -> dict[str, Decimal]:
        given = {Asset.POINTS: self.points, Asset.PRINCIPAL: self.principal, Asset.BONUS: self.bonus}
        return {asset: amount for asset, amount in given.items() if amount}


def opening_key(asset: str, customer_id: int) -> str:
    return f"opening:{asset}:{customer_id}"


def levels_by_name() -> dict[str, int]:
    """Level name (case-folded) → id, to read the level a file names."""
    return {name.casefold(): pk for pk, name in Level.objects.values_list("pk", "name")}


def open_balances(openings: list[Opening], *, actor_label: str, reference: str = "") -> None:
    """Write the openings of a batch of distinct members inside the caller's transaction.

    Each opening's ``created``/``changed``/``errors`` say what happened; a member with errors
    gets nothing written.
    """
    now = timezone.now()
    fresh = [item for item in _not_yet_posted(openings) if not item[0].errors]
    for opening, _asset, _amount in fresh:
        opening.created = True
    _post(fresh, now, actor_label=actor_label[:150], reference=reference[:200])
    _set_levels([o for o in openings if not o.errors], now)


def _not_yet_posted(openings: list[Opening]) -> list[tuple[Opening, str, Decimal]]:
    """The balances without their opening entry yet; one posted before with another amount (or
    points with another expiry) is an error on its member."""
    wanted = {opening_key(asset, o.customer_id): (o, asset) for o in openings for asset in o.balances()}
    posted = {
        key: (amount, expires)
        for key, amount, expires in Entry.objects.filter(idempotency_key__in=list(wanted)).values_list(
            "idempotency_key", "amount", "lot__expires_at"
        )
    }
    fresh: list[tuple[Opening, str, Decimal]] = []
    for key, (opening, asset) in wanted.items():
        if key not in posted:
            fresh.append((opening, asset, opening.balances()[asset]))
            continue
        amount, expires = posted[key]
        given = opening.balances()[asset]
        same_expiry = asset != Asset.POINTS or expires == opening.points_expires_at
        if Decimal(amount) != given or not same_expiry:
            opening.errors.append(
                FieldError(
                    ASSET_FIELDS[asset],
                    "opening_exists",
                    _(
                        "An opening balance of %(amount)s was already imported for this member; "
                        "correct it with an adjustment."
                    )
                    % {"amount": Decimal(amount).normalize()},
                )
            )
    return fresh


def _post(items: list[tuple[Opening, str, Decimal]], now: datetime, *, actor_label: str, reference: str) -> None:
    if not items:
        return
    amounts = {(o.customer_id, asset): amount for o, asset, amount in items}
    opened = _open_accounts(amounts, now)
    held = _lock(set(amounts) - set(opened))
    entries: list[Entry] = []
    for opening, asset, amount in items:
        pair = (opening.customer_id, asset)
        account = opened.get(pair) or held[pair]
        if pair in held:
            account.balance += amount
        entries.append(
            Entry(
                account=account,
                kind=EntryKind.OPENING,
                amount=amount,
                balance_after=account.balance,
                idempotency_key=opening_key(asset, opening.customer_id),
                occurred_at=now,
                reference=reference,
                reason=_("Opening balance from the previous system"),
                actor=actor_label,
            )
        )
    Entry.objects.bulk_create(entries)
    if any(entry.pk is None for entry in entries):  # a backend that returns no ids from a multi-row insert
        keys = [e.idempotency_key for e in entries]
        ids = dict(Entry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "pk"))
        for entry in entries:
            entry.pk = ids[entry.idempotency_key]
    Lot.objects.bulk_create(
        Lot(
            account=entry.account,
            entry_id=entry.pk,
            earned_at=now,
            expires_at=opening.points_expires_at if asset == Asset.POINTS else None,
            amount=amount,
            remaining=amount,
        )
        for entry, (opening, asset, amount) in zip(entries, items, strict=True)
    )
    _move_balances(list(held.values()), now)


def _open_accounts(amounts: dict[tuple[int, str], Decimal], now: datetime) -> dict[tuple[int, str], Account]:
    """The accounts that do not exist yet, created holding their opening (no update after the entry);
    an account that exists (or that someone else creates meanwhile) is left to :func:`_lock`."""
    table = Account._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    pairs = sorted(amounts)
    opened: dict[tuple[int, str], Account] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 300):
            batch = pairs[start : start + 300]
            cursor.execute(
                f"INSERT INTO {table} (customer_id, asset, balance, updated_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s)'] * len(batch))} "
                "ON CONFLICT (customer_id, asset) DO NOTHING RETURNING id, customer_id, asset",
                [value for pair in batch for value in (*pair, amounts[pair], moment)],
            )
            for pk, customer_id, asset in cursor.fetchall():
                opened[(customer_id, asset)] = Account(
                    id=pk, customer_id=customer_id, asset=asset, balance=amounts[(customer_id, asset)]
                )
    return opened


def _lock(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Account]:
    """The accounts, locked in primary-key order (as ``ledger.lock_accounts`` does for one member)."""
    if not pairs:
        return {}
    customers = sorted({customer_id for customer_id, _asset in pairs})
    query = Account.objects.filter(customer_id__in=customers).order_by("pk")
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    return {(a.customer_id, a.asset): a for a in query if (a.customer_id, a.asset) in pairs}


def _move_balances(accounts: list[Account], now: datetime) -> None:
    """The accounts' new balances, 500 a statement (``bulk_update``'s CASE costs more than the rest)."""
    table = Account._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for start in range(0, len(accounts), 500):
            batch = accounts[start : start + 500]
            rows = ", ".join(["(%s, %s)"] * len(batch))
            cursor.execute(
                f"WITH moved (id, balance) AS (VALUES {rows}) "  # noqa: S608
                f"UPDATE {table} SET updated_at = %s, balance = moved.balance "
                f"FROM moved WHERE {table}.id = moved.id",
                [value for account in batch for value in (account.pk, account.balance)] + [moment],
            )


def _set_levels(openings: Iterable[Opening], now: datetime) -> None:
    """The level the file gives, with its valid-until: no level-change entry, so nothing reacts."""
    given = {o.customer_id: o for o in openings if o.level_id is not None}
    if not given:
        return
    stored = {m.customer_id: m for m in Membership.objects.filter(customer_id__in=list(given))}
    new: list[Membership] = []
    changed: list[Membership] = []
    for customer_id, opening in given.items():
        membership = stored.get(customer_id)
        if membership is None:
            new.append(
                Membership(
                    customer_id=customer_id,
                    level_id=opening.level_id,
                    level_since=now,
                    level_valid_until=opening.level_valid_until,
                )
            )
            opening.changed = True
            continue
        if (membership.level_id, membership.level_valid_until) == (opening.level_id, opening.level_valid_until):
            continue
        if membership.level_id != opening.level_id:
            membership.level_id, membership.level_since = opening.level_id, now
        membership.level_valid_until = opening.level_valid_until
        changed.append(membership)
        opening.changed = True
    Membership.objects.bulk_create(new, batch_size=1000)
    Membership.objects.bulk_update(changed, ["level", "level_since", "level_valid_until"], batch_size=1000)
