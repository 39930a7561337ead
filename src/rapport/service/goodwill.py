"""Goodwill from a ticket (补偿): points or a coupon for the customer, through the loyalty domain's
services, recorded on the ticket (an internal note and a history event) and in the audit log.

Each action carries an idempotency key from the form, so a double click gives once.
"""

from __future__ import annotations

from django.db import transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.loyalty.models import Asset, Coupon, CouponTemplate
from rapport.loyalty.services import adjustments, coupons
from rapport.service import clock
from rapport.service.history import record_event
from rapport.service.models import MessageKind, Ticket, TicketMessage

MAX_GOODWILL_POINTS = 2000


def _check(actor: Actor, permission: str, reason: object) -> str:
    user = actor.staff_user
    if user is not None and not (user.has_perm("service.give_goodwill") and user.has_perm(permission)):
        raise Conflict.single("actor", "forbidden", "this account cannot give goodwill")
    text = (reason if isinstance(reason, str) else "").strip()
    if not text:
        raise InvalidInput.single("reason", "required", "say why the customer gets this")
    if len(text) > 200:
        raise InvalidInput.single("reason", "too_long", "at most 200 characters")
    return text


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
    text = _check(actor, "loyalty.adjust_balance", reason)
    if isinstance(points, str) and points.strip().isdigit():
        points = int(points)
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_GOODWILL_POINTS:
        raise InvalidInput.single("points", "invalid", f"whole points from 1 to {MAX_GOODWILL_POINTS}")
    entry = adjustments.adjust(
        ticket.customer,
        asset=Asset.POINTS,
        delta=points,
        reason=f"{ticket.number} goodwill: {text}",
        key=f"goodwill:{ticket.pk}:{key}",
        actor=actor,
    )
    if not ticket.events.filter(action="goodwill", data__key=key).exists():
        _note(ticket, actor, f"Goodwill: {points} points — {text}")
        record_event(ticket, "goodwill", actor=actor, data={"points": points, "entry": entry.pk, "key": key})
        record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"goodwill_points": points, "reason": text})
    return points


@transaction.atomic
def give_coupon(ticket: Ticket, *, template: CouponTemplate, reason: object, key: str, actor: Actor) -> Coupon:
    text = _check(actor, "loyalty.issue_coupon", reason)
    coupon = coupons.issue(
        template, ticket.customer, key=f"goodwill:{ticket.pk}:{key}", actor=actor, reference=ticket.number
    )
    if not ticket.events.filter(action="goodwill", data__key=key).exists():
        _note(ticket, actor, f"Goodwill: coupon {template.name} ({coupon.code}) — {text}")
        record_event(ticket, "goodwill", actor=actor, data={"coupon": coupon.code, "template": template.pk, "key": key})
        record(actor, AuditEntry.Action.UPDATE, obj=ticket, changes={"goodwill_coupon": coupon.code, "reason": text})
    return coupon


def goodwill_templates() -> list[CouponTemplate]:
    return list(CouponTemplate.objects.filter(is_active=True).order_by("name")[:50])
