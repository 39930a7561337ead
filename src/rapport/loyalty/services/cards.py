"""Benefit cards (权益卡): a free or paid card per type, renewed by adding a period, expiring on
its end date (checked where a card's benefits apply, so no job has to flip a flag in time).

Each purchase or renewal is a :class:`~rapport.loyalty.models.CardPeriod` with an idempotency
key; a renewal starts where the card ends (or now, if it has lapsed). A card type may bundle a
coupon, issued with every period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import BenefitCard, CardPeriod, CardType
from rapport.loyalty.services import coupons, ledger


def active_cards(customer_id: int, *, at: datetime | None = None) -> QuerySet[BenefitCard]:
    at = at or timezone.now()
    return BenefitCard.objects.filter(
        customer_id=customer_id, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True
    ).select_related("card_type")


@transaction.atomic
def grant(
    card_type: CardType, customer: Customer, *, key: str, actor: Actor, amount_paid: Decimal | None = None
) -> BenefitCard:
    """Give or sell a card, or renew the customer's card of this type by one period."""
    done = CardPeriod.objects.filter(idempotency_key=f"card:{customer.pk}:{key}").select_related("card").first()
    if done is not None:
        if done.card.card_type_id != card_type.pk or (amount_paid is not None and done.amount_paid != amount_paid):
            raise ledger.key_reused()
        return done.card
    if not card_type.is_active:
        raise Conflict.single("card_type", "inactive", _("This card is not on sale."))
    paid = card_type.price if amount_paid is None else amount_paid
    if paid < 0:
        raise InvalidInput.single("amount_paid", "negative", _("Cannot be negative."))
    now = timezone.now()
    card, created = BenefitCard.objects.select_for_update().get_or_create(
        customer=customer,
        card_type=card_type,
        defaults={"starts_at": now, "ends_at": now + timedelta(days=card_type.validity_days), "amount_paid": paid},
    )
    if created:
        start = now
    else:
        start = max(card.ends_at, now) if card.cancelled_at is None else now
        if card.cancelled_at is not None or card.ends_at <= now:
            card.starts_at = now
        card.ends_at = start + timedelta(days=card_type.validity_days)
        card.cancelled_at = None
        card.amount_paid += paid
        card.save(update_fields=["starts_at", "ends_at", "cancelled_at", "amount_paid"])
    CardPeriod.objects.create(
        card=card,
        starts_at=start,
        ends_at=card.ends_at,
        amount_paid=paid,
        idempotency_key=f"card:{customer.pk}:{key}",
        created_at=now,
        actor=actor.describe()[:150],
    )
    if card_type.welcome_coupon is not None:
        coupons.issue(
            card_type.welcome_coupon,
            customer,
            key=f"card:{card.pk}:{key}",
            actor=actor,
            reference=str(card),
            bundled=True,
        )
    record(
        actor,
        AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
        obj=card,
        changes={"ends_at": card.ends_at.isoformat(), "paid": str(paid)},
    )
    return card


@transaction.atomic
def cancel(card: BenefitCard, *, reason: str, actor: Actor) -> BenefitCard:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why the card is cancelled."))
    card.cancelled_at = timezone.now()
    card.save(update_fields=["cancelled_at"])
    record(actor, AuditEntry.Action.UPDATE, obj=card, changes={"cancelled": True, "reason": reason})
    return card


def move_cards(survivor: Customer, merged: Customer) -> int:
    """Merge: cards move; when both hold the same type, the survivor's card takes the later end."""
    moved = 0
    for card in BenefitCard.objects.filter(customer=merged):
        ours = BenefitCard.objects.filter(customer=survivor, card_type=card.card_type_id).first()
        if ours is None:
            card.customer = survivor
            card.save(update_fields=["customer"])
        else:
            ours.ends_at = max(ours.ends_at, card.ends_at)
            ours.amount_paid += card.amount_paid
            ours.save(update_fields=["ends_at", "amount_paid"])
            CardPeriod.objects.filter(card=card).update(card=ours)
            card.delete()
        moved += 1
    return moved
