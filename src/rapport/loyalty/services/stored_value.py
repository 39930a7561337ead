"""Stored value (储值): top-up with bonus, spend, refund of principal; principal and bonus apart.

Principal (what the customer paid) and bonus (what the shop added) are two ledger accounts.
A top-up credits both in one transaction; a spend takes from them in the programme's order
(bonus first by default); a refund pays back principal only and forfeits the same share of the
bonus, so refunding everything leaves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import ZERO, Account, Asset, Entry, EntryKind, SpendOrder, TopUpBonus
from rapport.loyalty.services import ledger
from rapport.loyalty.services.ledger import CENT, Posting
from rapport.loyalty.services.program import program_settings

ASSETS = (Asset.PRINCIPAL, Asset.BONUS)


@dataclass(frozen=True)
class Movement:
    """The entries one stored-value operation wrote, principal and bonus."""

    principal: Entry | None
    bonus: Entry | None

    @property
    def total(self) -> Decimal:
        return sum((abs(e.amount) for e in (self.principal, self.bonus) if e is not None), ZERO)


def money(value: object, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise InvalidInput.single(field, "invalid", _("Enter an amount of money.")) from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput.single(field, "not_positive", _("The amount must be greater than zero."))
    if amount != amount.quantize(CENT):
        raise InvalidInput.single(field, "precision", _("The amount has at most two decimal places."))
    return amount


def bonus_for(amount: Decimal) -> Decimal:
    """The bonus of the highest active tier the top-up reaches."""
    tier = TopUpBonus.objects.filter(is_active=True, minimum__lte=amount).order_by("-minimum").first()
    return tier.bonus if tier else ZERO


def balance(customer_id: int) -> dict[str, Decimal]:
    held = ledger.balances(customer_id)
    principal, bonus = held.get(Asset.PRINCIPAL, ZERO), held.get(Asset.BONUS, ZERO)
    return {"principal": principal, "bonus": bonus, "total": principal + bonus}


@transaction.atomic
def top_up(customer: Customer, *, amount: object, key: str, actor: Actor, reference: str = "") -> Movement:
    """Credit a paid top-up and its bonus (e.g. pay 1000 get 1100)."""
    paid = money(amount)
    accounts = ledger.lock_accounts(customer.pk, ASSETS)
    base = f"sv:topup:{customer.pk}:{key}"
    principal = ledger.credit(
        accounts[Asset.PRINCIPAL], paid, Posting(EntryKind.TOP_UP, f"{base}:principal", actor, reference=reference)
    )
    bonus_entry = Entry.objects.filter(idempotency_key=f"{base}:bonus").first()
    if bonus_entry is None:
        extra = bonus_for(paid)
        if extra > 0:
            posting = Posting(EntryKind.TOP_UP, f"{base}:bonus", actor, reason=_("Top-up bonus"), reference=reference)
            bonus_entry = ledger.credit(accounts[Asset.BONUS], extra, posting)
    return Movement(principal, bonus_entry)


def spend_locked(
    accounts: dict[str, Account], amount: Decimal, *, key: str, actor: Actor, reference: str = ""
) -> Movement:
    """Take ``amount`` from locked principal and bonus accounts in the programme's order."""
    total = accounts[Asset.PRINCIPAL].balance + accounts[Asset.BONUS].balance
    if total < amount:
        raise Conflict.single(
            "stored_value",
            "insufficient",
            _("The stored value balance is %(balance)s, less than %(amount)s.") % {"balance": total, "amount": amount},
        )
    order = (
        (Asset.BONUS, Asset.PRINCIPAL)
        if program_settings().stored_value_spend_order == SpendOrder.BONUS_FIRST
        else (Asset.PRINCIPAL, Asset.BONUS)
    )
    left = amount
    written: dict[str, Entry] = {}
    for asset in order:
        take = min(left, accounts[asset].balance)
        if take > 0:
            posting = Posting(EntryKind.SPEND, f"{key}:{asset}", actor, reference=reference)
            written[asset] = ledger.debit(accounts[asset], take, posting)
            left -= take
    return Movement(written.get(Asset.PRINCIPAL), written.get(Asset.BONUS))


def replayed_movement(key: str) -> Movement | None:
    keys = {f"{key}:{asset}": asset for asset in ASSETS}
    found = {keys[e.idempotency_key]: e for e in Entry.objects.filter(idempotency_key__in=keys)}
    if not found:
        return None
    return Movement(found.get(Asset.PRINCIPAL), found.get(Asset.BONUS))


@transaction.atomic
def spend(customer: Customer, *, amount: object, key: str, actor: Actor, reference: str = "") -> Movement:
    """Pay with stored value; Conflict when the balance is too low, and nothing is taken."""
    wanted = money(amount)
    accounts = ledger.lock_accounts(customer.pk, ASSETS)
    full_key = f"sv:spend:{customer.pk}:{key}"
    replay = replayed_movement(full_key)
    if replay is not None:
        if replay.total != wanted:
            raise ledger.key_reused()
        return replay
    return spend_locked(accounts, wanted, key=full_key, actor=actor, reference=reference)


@transaction.atomic
def refund_principal(customer: Customer, *, amount: object, key: str, reason: str, actor: Actor) -> Movement:
    """Pay principal back to the customer; the same share of the bonus is forfeited. Audited."""
    wanted = money(amount)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why the stored value is refunded."))
    accounts = ledger.lock_accounts(customer.pk, ASSETS)
    full_key = f"sv:refund:{customer.pk}:{key}"
    replay = replayed_movement(full_key)
    if replay is not None:
        if replay.principal is None or -replay.principal.amount != wanted:
            raise ledger.key_reused()
        return replay
    principal_account, bonus_account = accounts[Asset.PRINCIPAL], accounts[Asset.BONUS]
    if principal_account.balance < wanted:
        raise Conflict.single(
            "amount",
            "insufficient",
            _("Only %(balance)s of principal can be refunded.") % {"balance": principal_account.balance},
        )
    share = wanted / principal_account.balance
    forfeit = (bonus_account.balance * share).quantize(CENT, rounding=ROUND_HALF_UP)
    principal = ledger.debit(
        principal_account, wanted, Posting(EntryKind.WITHDRAW, f"{full_key}:{Asset.PRINCIPAL}", actor, reason=reason)
    )
    bonus = None
    if forfeit > 0:
        bonus = ledger.debit(
            bonus_account, forfeit, Posting(EntryKind.FORFEIT, f"{full_key}:{Asset.BONUS}", actor, reason=reason)
        )
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=customer,
        changes={"stored_value_refund": str(wanted), "bonus_forfeited": str(forfeit), "reason": reason},
    )
    return Movement(principal, bonus)


def return_movement(customer_id: int, movement: Movement, *, key: str, actor: Actor, reference: str = "") -> Movement:
    """Give a spend back to the lots it came from (cancelled order); caller holds the transaction."""
    accounts = ledger.lock_accounts(customer_id, ASSETS)
    returned: dict[str, Entry] = {}
    for asset, spent in ((Asset.PRINCIPAL, movement.principal), (Asset.BONUS, movement.bonus)):
        if spent is not None:
            posting = Posting(EntryKind.RETURN, f"{key}:{asset}", actor, reference=reference)
            returned[asset] = ledger.return_debit(accounts[asset], spent, posting)
    return Movement(returned.get(Asset.PRINCIPAL), returned.get(Asset.BONUS))
