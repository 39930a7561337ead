"""Journey steps and triggers that touch the customer's assets (coupons, points, levels).

Steps call :mod:`rapport.loyalty`'s services, one customer at a time because that is the
ledger's unit of locking. A coupon step issues, by default, only to the customers the plan's
next message can reach when the step runs (an address and consent on its channel, no bounced
address): a coupon nobody tells the customer about is a coupon wasted. ``audience: everyone``
issues to all. Each call carries the key ``plan:<id>:step:<id>:enrollment:<id>``, so a
chunk redone after a crash finds the coupon or points already given and gives nothing twice. An
issued coupon is kept in the enrollment's context: a later send step shows it as ``coupon``.

Triggers: points about to expire (open point lots expiring in N days), a coupon about to expire,
and a member level change; each scan is idempotent through its entry key.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.campaigns import engine
from rapport.campaigns.delivery import guards
from rapport.campaigns.models import Enrollment, Plan, Purpose, Step
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError
from rapport.customers.models import Customer
from rapport.loyalty import queries as loyalty_queries
from rapport.loyalty.models import Account, Coupon, CouponStatus, CouponTemplate, LevelChange
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
        Step.objects.filter(plan_id=step.plan_id, position__gt=step.position, kind=Step.Kind.SEND)
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


# Triggers ---------------------------------------------------------------------------------------


def _scan_points_expiring(plan: Plan, now: dt.datetime) -> int:
    day = (now + dt.timedelta(days=int(plan.trigger.get("days_before") or 0))).date()
    accounts = loyalty_queries.points_expiring_on(day).values("account_id")
    customers = Customer.objects.filter(pk__in=Account.objects.filter(pk__in=accounts).values("customer_id"))
    return engine.enroll(plan, engine.in_audience(plan, customers, now), entry_key=f"points:{day.isoformat()}", now=now)


def _scan_coupon_expiring(plan: Plan, now: dt.datetime) -> int:
    day = (now + dt.timedelta(days=int(plan.trigger.get("days_before") or 0))).date()
    expiring = Coupon.objects.filter(status=CouponStatus.ISSUED, valid_until__date=day, customer__isnull=False)
    entries = [
        engine.Entry(customer_id, f"coupon:{pk}", {"coupon_id": pk})
        for pk, customer_id in expiring.values_list("pk", "customer_id")
    ]
    return engine.enroll_entries(plan, entries, now=now)


def _scan_level_changes(plan: Plan, now: dt.datetime) -> int:
    cursor = int(plan.trigger_cursor.get("level_change") or 0)
    changes = list(
        LevelChange.objects.filter(Q(pk__gt=cursor), changed_at__gte=plan.launched_at or now)
        .order_by("pk")
        .values_list("pk", "customer_id", "reason")[:10_000]
    )
    entries = [
        engine.Entry(customer_id, f"level:{pk}", {"level_change": reason}) for pk, customer_id, reason in changes
    ]
    entered = engine.enroll_entries(plan, entries, now=now)
    if changes:
        Plan.objects.filter(pk=plan.pk).update(trigger_cursor={**plan.trigger_cursor, "level_change": changes[-1][0]})
    return entered


def register_scans() -> None:
    from rapport.campaigns.triggers import register_scan

    register_scan("points_expiring", _scan_points_expiring)
    register_scan("coupon_expiring", _scan_coupon_expiring)
    register_scan("level_changed", _scan_level_changes)
