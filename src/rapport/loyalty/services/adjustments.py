"""Manual adjustments of any ledger asset by staff: a reason is required and each one is audited."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import Asset, Entry, EntryKind
from rapport.loyalty.services import ledger
from rapport.loyalty.services.ledger import CENT, Posting
from rapport.loyalty.services.points import expiry_for, whole_points


def clean_delta(asset: str, raw: object) -> Decimal:
    if asset not in Asset.values:
        raise InvalidInput.single("asset", "invalid", _("One of: %(assets)s.") % {"assets": ", ".join(Asset.values)})
    if asset == Asset.POINTS:
        delta = whole_points(raw, "delta")
    else:
        try:
            delta = Decimal(str(raw))
        except ArithmeticError as exc:
            raise InvalidInput.single("delta", "invalid", _("Enter an amount of money.")) from exc
        if not delta.is_finite() or delta != delta.quantize(CENT):
            raise InvalidInput.single("delta", "precision", _("The amount has at most two decimal places."))
    if delta == 0:
        raise InvalidInput.single("delta", "zero", _("The adjustment cannot be zero."))
    return delta


@transaction.atomic
def adjust(customer: Customer, *, asset: str, delta: object, reason: str, key: str, actor: Actor) -> Entry:
    """Add (positive ``delta``) or take (negative) an amount; never below zero."""
    amount = clean_delta(asset, delta)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why the balance is adjusted."))
    if not key:
        raise InvalidInput.single("idempotency_key", "required", _("An idempotency key is required."))
    account = ledger.lock_account(customer.pk, asset)
    posting = Posting(EntryKind.ADJUST, f"adjust:{customer.pk}:{key}", actor, reason=reason[:300])
    existing = ledger.replayed(posting.key, account, abs(amount))
    if existing is not None:
        if existing.amount != amount:  # the same size, but taken where it was added (or the reverse)
            raise ledger.key_reused()
        return existing
    if amount > 0:
        expires = expiry_for(timezone.now()) if asset == Asset.POINTS else None
        entry = ledger.credit(account, amount, posting, expires_at=expires)
    else:
        entry = ledger.debit(account, -amount, posting, insufficient_field="delta")
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=customer,
        changes={"asset": asset, "delta": str(amount), "reason": reason, "balance": str(entry.balance_after)},
    )
    return entry
