"""Goodwill (补偿) points and coupons within the giver's role limits: one check for every place
staff give goodwill (a service agent on a ticket, a clerk at the counter).

An administrator sets a :class:`~rapport.loyalty.models.GoodwillLimit` per role (points in one
grant, points and coupons a staff member gives a day); a role without one gives nothing, an
administrator is not limited. Every grant is a :class:`~rapport.loyalty.models.GoodwillGrant`
with the caller's idempotency key, so a double click gives once and counts once. The limit row
is locked while a grant is counted, so two grants at once cannot both slip under the day's cap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts import roles
from rapport.accounts.services import role_of
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput, PermissionDeniedError
from rapport.customers.models import Customer
from rapport.loyalty.models import Asset, Coupon, CouponTemplate, GoodwillGrant, GoodwillLimit
from rapport.loyalty.services import adjustments, coupons

REASON_LENGTH = 200


@dataclass(frozen=True)
class Allowance:
    """What the actor may still give today (None: no limit, an administrator or a system job)."""

    points_per_grant: int | None
    points_left_today: int | None
    coupons_left_today: int | None


def clean_reason(reason: object) -> str:
    text = (reason if isinstance(reason, str) else "").strip()
    if not text:
        raise InvalidInput.single("reason", "required", _("Say why the customer gets this."))
    if len(text) > REASON_LENGTH:
        raise InvalidInput.single("reason", "too_long", _("At most 200 characters."))
    return text


def clean_points(points: object) -> int:
    if isinstance(points, str) and points.strip().isdigit():
        points = int(points)
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise InvalidInput.single("points", "invalid", _("Whole points, at least 1."))
    return points


def _day_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def allowance(actor: Actor, *, lock: bool = False) -> Allowance:
    """The actor's limits less what they gave since local midnight; refused without a limit row."""
    user = actor.staff_user
    role = role_of(user)
    if user is None or role == roles.ADMIN:
        return Allowance(None, None, None)
    if not user.has_perm("loyalty.give_goodwill"):
        raise PermissionDeniedError.single("actor", "forbidden", _("This account cannot give goodwill."))
    rows = GoodwillLimit.objects.select_for_update() if lock else GoodwillLimit.objects
    limit = rows.filter(role=role or "").first()
    if limit is None:
        raise PermissionDeniedError.single("actor", "no_limit", _("No goodwill limit is set for this role."))
    given = GoodwillGrant.objects.filter(staff=user, granted_at__gte=_day_start(timezone.now())).aggregate(
        points=Sum("points"), coupons=Count("coupon")
    )
    return Allowance(
        limit.points_per_grant,
        max(limit.points_per_day - (given["points"] or 0), 0),
        max(limit.coupons_per_day - (given["coupons"] or 0), 0),
    )


def _record(actor: Actor, customer: Customer, *, key: str, reason: str, context: str, **what: object) -> None:
    GoodwillGrant.objects.create(
        customer=customer,
        staff=actor.staff_user,
        role=role_of(actor.staff_user) or "",
        reason=reason,
        context=context[:60],
        idempotency_key=key,
        granted_at=timezone.now(),
        **what,
    )


@transaction.atomic
def give_points(customer: Customer, *, points: object, reason: object, key: str, actor: Actor, context: str) -> int:
    """Credit goodwill points once per key, within the giver's limits; audited by the adjustment."""
    text = clean_reason(reason)
    amount = clean_points(points)
    full_key = f"goodwill:{key}"
    done = GoodwillGrant.objects.filter(idempotency_key=full_key).first()
    if done is not None:
        return done.points
    left = allowance(actor, lock=True)
    if left.points_per_grant is not None and amount > left.points_per_grant:
        raise InvalidInput.single(
            "points",
            "over_limit",
            _("At most %(points)s points in one grant.") % {"points": left.points_per_grant},
        )
    if left.points_left_today is not None and amount > left.points_left_today:
        raise Conflict.single(
            "points",
            "daily_limit",
            _("Only %(points)s more goodwill points can be given today.") % {"points": left.points_left_today},
        )
    adjustments.adjust(
        customer, asset=Asset.POINTS, delta=amount, reason=f"{context} goodwill: {text}", key=full_key, actor=actor
    )
    _record(actor, customer, key=full_key, reason=text, context=context, points=amount)
    return amount


@transaction.atomic
def give_coupon(
    customer: Customer, *, template: CouponTemplate, reason: object, key: str, actor: Actor, context: str
) -> Coupon:
    """Issue a goodwill coupon once per key, within the giver's coupons a day."""
    text = clean_reason(reason)
    full_key = f"goodwill:{key}"
    done = GoodwillGrant.objects.filter(idempotency_key=full_key).select_related("coupon").first()
    if done is not None and done.coupon is not None:
        return done.coupon
    left = allowance(actor, lock=True)
    if left.coupons_left_today is not None and left.coupons_left_today < 1:
        raise Conflict.single("template", "daily_limit", _("No more goodwill coupons can be given today."))
    coupon = coupons.issue(template, customer, key=full_key, actor=actor, reference=context)
    _record(actor, customer, key=full_key, reason=text, context=context, coupon=coupon)
    return coupon


def goodwill_templates() -> list[CouponTemplate]:
    return list(CouponTemplate.objects.filter(is_active=True).order_by("name")[:50])
