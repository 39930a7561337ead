"""Consent (客户授权) per channel and purpose: the rules every sender checks.

A decision is the current :class:`Consent` row plus a :class:`ConsentRecord` in the ledger for
each change. Without a row, marketing is refused (opt-in, as PIPL and GDPR expect) and service
messages are allowed (they concern the customer's own orders, tickets and account).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.changes import Change, customers_changed
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers.models import Consent, ConsentChannel, ConsentPurpose, ConsentRecord, Customer

DEFAULT_GRANTED = {ConsentPurpose.MARKETING: False, ConsentPurpose.SERVICE: True}


def _check(channel: Any, purpose: Any, field_prefix: str = "") -> None:
    errors = []
    if channel not in ConsentChannel.values:
        errors.append(FieldError(f"{field_prefix}channel", "invalid", f"one of: {', '.join(ConsentChannel.values)}"))
    if purpose not in ConsentPurpose.values:
        errors.append(FieldError(f"{field_prefix}purpose", "invalid", f"one of: {', '.join(ConsentPurpose.values)}"))
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def set_consents(
    customer: Customer,
    decisions: Iterable[Mapping[str, Any]],
    *,
    actor: Actor,
    evidence: str = "",
) -> list[ConsentRecord]:
    """Record several decisions (``channel``, ``purpose``, ``granted``) at once, all or none.

    A decision equal to the state in force (defaults included) writes nothing: the ledger keeps
    only real changes, so saving the console's whole grid records just the boxes that moved.
    """
    wanted: dict[tuple[str, str], bool] = {}
    errors: list[FieldError] = []
    for index, decision in enumerate(decisions):
        prefix = f"consents[{index}]."
        try:
            _check(decision.get("channel"), decision.get("purpose"), prefix)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            continue
        if not isinstance(decision.get("granted"), bool):
            errors.append(FieldError(f"{prefix}granted", "invalid", "true or false"))
            continue
        wanted[(decision["channel"], decision["purpose"])] = decision["granted"]
    if len(evidence) > 300:
        errors.append(FieldError("evidence", "too_long", "at most 300 characters"))
    if errors:
        raise InvalidInput(errors)

    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one writer per customer
    current = {(c.channel, c.purpose): c for c in Consent.objects.filter(customer=customer)}
    now = timezone.now()
    written: list[ConsentRecord] = []
    for (channel, purpose), granted in wanted.items():
        row = current.get((channel, purpose))
        state = row.granted if row is not None else DEFAULT_GRANTED[ConsentPurpose(purpose)]
        if state == granted:
            continue
        Consent.objects.update_or_create(
            customer=customer,
            channel=channel,
            purpose=purpose,
            defaults={"granted": granted, "source": actor.source, "updated_at": now},
        )
        written.append(
            ConsentRecord(
                customer=customer,
                channel=channel,
                purpose=purpose,
                granted=granted,
                source=actor.source,
                actor=actor.staff_user,
                actor_label=actor.describe(),
                evidence=evidence,
                recorded_at=now,
            )
        )
    if written:
        ConsentRecord.objects.bulk_create(written)
        record(
            actor,
            AuditEntry.Action.UPDATE,
            obj=customer,
            changes={"consent": [f"{r.channel}/{r.purpose}={'yes' if r.granted else 'no'}" for r in written]},
        )
        customers_changed([customer.pk], kind=Change.CONSENT)
    return written


def set_consent(
    customer: Customer, *, channel: str, purpose: str, granted: bool, actor: Actor, evidence: str = ""
) -> list[ConsentRecord]:
    return set_consents(
        customer, [{"channel": channel, "purpose": purpose, "granted": granted}], actor=actor, evidence=evidence
    )


def withdraw_marketing(
    customer: Customer, *, actor: Actor, channels: Iterable[str] | None = None, evidence: str = ""
) -> list[ConsentRecord]:
    """One-click withdrawal: no more marketing on the given channels (all of them by default)."""
    chosen = list(channels) if channels is not None else list(ConsentChannel.values)
    return set_consents(
        customer,
        [{"channel": c, "purpose": ConsentPurpose.MARKETING, "granted": False} for c in chosen],
        actor=actor,
        evidence=evidence,
    )


def consenting_q(channel: str, purpose: str) -> Q:
    """Customers who may be contacted on ``channel`` for ``purpose``, as one SQL condition."""
    _check(channel, purpose)
    decided = Consent.objects.filter(customer=OuterRef("pk"), channel=channel, purpose=purpose)
    if DEFAULT_GRANTED[ConsentPurpose(purpose)]:
        return ~Q(Exists(decided.filter(granted=False)))
    return Q(Exists(decided.filter(granted=True)))


def has_consent(customer_id: int, channel: str, purpose: str) -> bool:
    _check(channel, purpose)
    granted = (
        Consent.objects.filter(customer_id=customer_id, channel=channel, purpose=purpose)
        .values_list("granted", flat=True)
        .first()
    )
    return DEFAULT_GRANTED[ConsentPurpose(purpose)] if granted is None else granted


def consent_state(customer: Customer) -> list[dict[str, Any]]:
    """Every channel and purpose with the decision in force and whether it is only the default."""
    rows = {(c.channel, c.purpose): c for c in Consent.objects.filter(customer=customer)}
    state = []
    for channel, channel_label in ConsentChannel.choices:
        for purpose, purpose_label in ConsentPurpose.choices:
            row = rows.get((channel, purpose))
            state.append(
                {
                    "channel": channel,
                    "channel_label": channel_label,
                    "purpose": purpose,
                    "purpose_label": purpose_label,
                    "granted": row.granted if row else DEFAULT_GRANTED[ConsentPurpose(purpose)],
                    "explicit": row is not None,
                    "updated_at": row.updated_at if row else None,
                }
            )
    return state


def move_consents(survivor: Customer, merged: Customer) -> int:
    """Merge hook: the survivor keeps, per channel and purpose, whichever decision is newer.

    The ledger moves whole, so the survivor's history shows both people's decisions.
    """
    survivor_rows = {(c.channel, c.purpose): c for c in Consent.objects.filter(customer=survivor)}
    moved = 0
    for row in Consent.objects.filter(customer=merged):
        kept = survivor_rows.get((row.channel, row.purpose))
        if kept is None:
            row.customer = survivor
            row.save(update_fields=["customer"])
            moved += 1
        elif row.updated_at > kept.updated_at:
            kept.granted, kept.source, kept.updated_at = row.granted, row.source, row.updated_at
            kept.save(update_fields=["granted", "source", "updated_at"])
    Consent.objects.filter(customer=merged).delete()
    moved += ConsentRecord.objects.filter(customer=merged).update(customer=survivor)
    return moved
