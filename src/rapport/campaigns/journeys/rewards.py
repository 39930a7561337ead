"""Journey steps that give the customer coupons and points.

Steps call :mod:`rapport.loyalty`'s services, one customer at a time because that is the
ledger's unit of locking. A coupon step issues, by default, only to the customers the plan's
next message can reach when the step runs (an address and consent on its channel, no bounced
address): a coupon nobody tells the customer about is a coupon wasted. ``audience: everyone``
issues to all. Each call carries the key ``plan:<id>:step:<id>:enrollment:<id>``, so a
chunk redone after a crash finds the coupon or points already given and gives nothing twice. An
issued coupon is kept in the enrollment's context: a later send step shows it as ``coupon``.

The loyalty triggers (points or a coupon about to expire, a level change) are scanned in
:mod:`rapport.loyalty.queries` and turned into entries by :mod:`rapport.campaigns.journeys.triggers`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.delivery import guards
from rapport.campaigns.models import MESSAGE_STEPS, Enrollment, Purpose, Step
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError
from rapport.customers.models import Customer
from rapport.loyalty.models import Coupon, CouponTemplate
from rapport.loyalty.services import coupons, points

logger = logging.getLogger(__name__)

MAX_POINTS = 1_000_000
TRIGGERS: dict[str, str | Promise] = {
    "points_expiring": _("points about to expire (days before)"),
    "coupon_expiring": _("a coupon about to expire (days before)"),
    "level_changed": _("a member level change"),
}
UNAVAILABLE: set[str] = set()
REACHABLE, EVERYONE = "reachable", "everyone"
AUDIENCES = {
    REACHABLE: _("Only those the plan's message can reach (consent and an address)"),
    EVERYONE: _("Everyone in the step"),
}


def catalogue() -> dict[str, Any]:
    """What the builder offers for reward steps."""
    templates = [
        {"value": t.pk, "label": t.name} for t in CouponTemplate.objects.filter(is_active=True).order_by("name")
    ]
    audiences = [{"value": value, "label": str(label)} for value, label in AUDIENCES.items()]
    return {
        "coupon": [
            {"name": "template", "label": str(_("Coupon")), "choices": templates},
            {"name": "audience", "label": str(_("Issue to")), "choices": audiences},
        ],
        "points": [
            {"name": "points", "label": str(_("Points")), "type": "number"},
            {"name": "reason", "label": str(_("Reason shown to the member")), "type": "text"},
        ],
    }


def clean_step(kind: str, path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    if kind == Step.Kind.COUPON:
        value = str(config.get("template") or "").strip()
        template = CouponTemplate.objects.filter(pk=int(value)).first() if value.isdigit() else None
        if template is None:
            errors.append(FieldError(f"{path}.template", "not_found", "a coupon template's id"))
        elif not template.is_active:
            errors.append(FieldError(f"{path}.template", "inactive", f"{template.name} is not being given out"))
        audience = str(config.get("audience") or REACHABLE)
        if audience not in AUDIENCES:
            errors.append(FieldError(f"{path}.audience", "invalid", f"one of: {', '.join(AUDIENCES)}"))
        return {"template": template.pk if template else None, "audience": audience}
    amount = config.get("points")
    if isinstance(amount, str) and amount.strip().isdigit():
        amount = int(amount)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_POINTS:
        errors.append(FieldError(f"{path}.points", "invalid", f"whole points from 1 to {MAX_POINTS}"))
    reason = str(config.get("reason") or "").strip()[:120]
    return {"points": amount, "reason": reason}


def _coupon_facts(coupon: Coupon) -> dict[str, Any]:
    template = coupon.template
    value = template.amount_off if getattr(template, "amount_off", None) else f"{template.percent_off}%"
    return {
        "code": coupon.code,
        "name": template.name,
        "value": str(value),
        "expires_at": coupon.valid_until.date().isoformat() if coupon.valid_until else "",
    }


def _left_out(step: Step, customer_ids: list[int], now: dt.datetime) -> set[int]:
    """Customers a coupon step skips: those the plan's next message cannot reach (unless the step
    issues to everyone, or no message follows it)."""
    if step.config.get("audience", REACHABLE) == EVERYONE:
        return set()
    message = (
        Step.objects.filter(plan_id=step.plan_id, position__gt=step.position, kind__in=MESSAGE_STEPS)
        .order_by("position")
        .first()
    )
    if message is None or not message.config.get("channel"):
        return set()
    skipped = guards.unreachable(
        customer_ids,
        channel=message.config["channel"],
        purpose=message.config.get("purpose", Purpose.MARKETING),
        now=now,
        plan=step.plan,
    )
    if skipped:
        logger.info(
            "plan #%s step %s: %s customers cannot be told; no coupon", step.plan_id, step.position, len(skipped)
        )
    return skipped


def issue(step: Step, enrollments: Sequence[tuple[int, int]], *, now: dt.datetime) -> None:
    """Give each enrolled customer the step's coupon or points (inside the engine's chunk transaction)."""
    actor = Actor.system(f"operation plan #{step.plan_id}")
    customers = Customer.objects.in_bulk([customer_id for _pk, customer_id in enrollments])
    template = CouponTemplate.objects.filter(pk=step.config.get("template")).first()
    left_out = _left_out(step, list(customers), now) if step.kind == Step.Kind.COUPON else set()
    issued: dict[int, dict[str, Any]] = {}
    for enrollment_id, customer_id in enrollments:
        customer = customers.get(customer_id)
        if customer is None or customer_id in left_out:
            continue
        key = f"plan:{step.plan_id}:step:{step.pk}:enrollment:{enrollment_id}"
        try:
            if step.kind == Step.Kind.COUPON and template is not None:
                issued[enrollment_id] = _coupon_facts(
                    coupons.issue(template, customer, key=key, actor=actor, reference=key, at=now)
                )
            elif step.kind == Step.Kind.POINTS:
                points.award(
                    customer,
                    points=int(step.config["points"]),
                    key=key,
                    actor=actor,
                    reason=step.config.get("reason", ""),
                )
        except Conflict as exc:  # out of stock, limit reached: this customer goes on without it
            logger.info("plan #%s step %s: customer #%s: %s", step.plan_id, step.position, customer_id, exc)
    rows = list(Enrollment.objects.filter(pk__in=list(issued)))
    for row in rows:
        row.context = {**row.context, "coupon": issued[row.pk]}
    Enrollment.objects.bulk_update(rows, ["context"])
