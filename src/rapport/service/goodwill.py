"""Goodwill from a ticket (补偿): points or a coupon for the customer, through the loyalty domain's
services, recorded on the ticket (an internal note and a history event) and in the audit log.

Each action carries an idempotency key from the form, so a double click gives once; how much an
agent may give is the role's goodwill limit, the same check the store counter uses.
"""

from __future__ import annotations

from django.db import transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.loyalty.models import Coupon, CouponTemplate
from rapport.loyalty.services import goodwill as loyalty_goodwill
from rapport.service import clock
from rapport.service.history import record_event
from rapport.service.models import MessageKind, Ticket, TicketMessage


def _check(actor: Actor, reason: object) -> str:
    """Agents give goodwill from a ticket; how much is the role's limit (loyalty's goodwill check)."""
    user = actor.staff_user
    if user is not None and not user.has_perm("service.give_goodwill"):
        raise Conflict.single("actor", "forbidden", "this account cannot give goodwill")
    return loyalty_goodwill.clean_reason(reason)


def _note(ticket: Ticket, actor: Actor, text: str) -> TicketMessage:
    return TicketMessage.objects.create(
        ticket=ticket,
        kind=MessageKind.NOTE,
        body=text,
        author=actor.staff_user,
        author_label=actor.describe(),
        created_at=clock.now(),
    )


@transaction.atomic
def give_points(ticket: Ticket, *, points: object, reason: object, key: str, actor: Actor) -> int:
    text = _check(actor, reason)
    given = loyalty_goodwill.give_points(
        ticket.customer, points=points, reason=text, key=f"ticket:{ticket.pk}:{key}", actor=actor, context=ticket.number
    )
    if not ticket.events.filter(action="goodwill", data__key=key).exists():
        _note(ticket, actor, f"Goodwill: {given} points — {text}")
        record_event(ticket, "goodwill", actor=actor, data={"points": given, "key": key})
        record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"goodwill_points": given, "reason": text})
    return given


@transaction.atomic
def give_coupon(ticket: Ticket, *, template: CouponTemplate, reason: object, key: str, actor: Actor) -> Coupon:
    text = _check(actor, reason)
    coupon = loyalty_goodwill.give_coupon(
        ticket.customer,
        template=template,
        reason=text,
        key=f"ticket:{ticket.pk}:{key}",
        actor=actor,
        context=ticket.number,
    )
    if not ticket.events.filter(action="goodwill", data__key=key).exists():
        _note(ticket, actor, f"Goodwill: coupon {template.name} ({coupon.code}) — {text}")
        record_event(ticket, "goodwill", actor=actor, data={"coupon": coupon.code, "template": template.pk, "key": key})
        record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"goodwill_coupon": coupon.code, "reason": text})
    return coupon


def goodwill_templates() -> list[CouponTemplate]:
    return loyalty_goodwill.goodwill_templates()
