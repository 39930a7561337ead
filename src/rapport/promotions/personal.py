"""Personal promotions: a campaign grants a customer a promotion of the personal audience for a
while (a 72-hour 满199减30 for lapsed Gold members), and the engine offers it to that customer only.

A grant is a :class:`~rapport.promotions.models.PersonalPromotion` row, written set-based and once
per customer and journey run (its key). The pricing engine is not touched: the audience selection
(``services.available``) keeps a personal promotion only for a shopper who holds a grant in force,
and the redemption re-checks it under the same lock as the other caps (``check_held``). Each grant
allows the promotion's ``per_customer_limit`` uses, counted from when it was granted, so a customer
granted the offer again by a later run may use it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.errors import Conflict, FieldError
from rapport.promotions.models import Audience, PersonalPromotion, Promotion, PromotionKind, PromotionUse

MAX_HOURS = 24 * 366


def templates() -> QuerySet[Promotion]:
    """The promotions a campaign may grant: personal, switched on, not over."""
    now = timezone.now()
    return (
        Promotion.objects.filter(audience=Audience.PERSONAL, is_active=True)
        .exclude(ends_at__lte=now)
        .order_by("name", "code")
    )


def grant(
    promotion: Promotion,
    recipients: Sequence[tuple[int, str]],
    *,
    hours: int,
    now: dt.datetime,
    plan_id: int | None = None,
) -> None:
    """Grant ``promotion`` to each ``(customer_id, key)`` for ``hours`` from ``now`` (never past the
    promotion's own end), in one insert; a key granted before is left as it is (idempotent)."""
    until = now + dt.timedelta(hours=hours)
    if promotion.ends_at is not None:
        until = min(until, promotion.ends_at)
    if promotion.audience != Audience.PERSONAL or not promotion.is_active or until <= now or not recipients:
        return
    PersonalPromotion.objects.bulk_create(
        [
            PersonalPromotion(
                promotion=promotion,
                customer_id=customer_id,
                key=key[:120],
                plan_id=plan_id,
                valid_from=now,
                valid_until=until,
            )
            for customer_id, key in recipients
        ],
        ignore_conflicts=True,
    )


def in_force(
    customer_ids: Iterable[int], at: dt.datetime, promotion_ids: Iterable[int] | None = None
) -> QuerySet[PersonalPromotion]:
    """The grants these customers hold at ``at`` (of these promotions, or of any)."""
    grants = PersonalPromotion.objects.filter(
        customer_id__in=list(customer_ids), valid_from__lte=at, valid_until__gt=at
    )
    return grants if promotion_ids is None else grants.filter(promotion_id__in=list(promotion_ids))


def _usable(customer_id: int, promotions: Sequence[Promotion], at: dt.datetime) -> set[int]:
    """The ids of these personal promotions the customer holds a grant of now with uses left on it."""
    started: dict[int, dt.datetime] = {}
    for promotion_id, valid_from in in_force([customer_id], at, [p.pk for p in promotions]).values_list(
        "promotion_id", "valid_from"
    ):
        started[promotion_id] = max(valid_from, started.get(promotion_id, valid_from))
    limited = {p.pk: p.per_customer_limit for p in promotions if p.per_customer_limit is not None and p.pk in started}
    if not limited:
        return set(started)
    used: dict[int, int] = {}
    for promotion_id, created_at in PromotionUse.objects.filter(
        promotion_id__in=list(limited), customer_id=customer_id, reversed_amount=0
    ).values_list("promotion_id", "created_at"):
        if created_at >= started[promotion_id]:
            used[promotion_id] = used.get(promotion_id, 0) + 1
    return {pk for pk in started if pk not in limited or used.get(pk, 0) < limited[pk]}


def keep_held(promotions: list[Promotion], customer_id: int | None, at: dt.datetime) -> list[Promotion]:
    """``promotions`` without the personal ones this shopper holds no usable grant of (a guest
    holds none). One query when a personal promotion is running, none otherwise."""
    personal = [p for p in promotions if p.audience == Audience.PERSONAL]
    if not personal:
        return promotions
    usable = _usable(customer_id, personal, at) if customer_id is not None else set()
    return [p for p in promotions if p.audience != Audience.PERSONAL or p.pk in usable]


def check_held(promotion: Promotion, customer_id: int | None, at: dt.datetime) -> None:
    """At redemption (inside the checkout's lock): the customer still holds a usable grant."""
    if customer_id is None or promotion.pk not in _usable(customer_id, [promotion], at):
        raise Conflict(
            FieldError(
                "promotions",
                "cap_reached",
                f"{promotion.code}: {_('the personal promotion has expired or has been used.')}",
            )
        )


# What a message says about a personal promotion --------------------------------------------------


def _amount(value: Any) -> str:
    number = Decimal(str(value))
    return f"{number.normalize():f}" if number == number.to_integral_value() else f"{number:.2f}"


def _tier_text(tier: dict[str, Any]) -> tuple[str, str]:
    """A tier's threshold and what it takes off ("30 off", "10% off")."""
    if tier.get("amount_off") not in (None, ""):
        discount = _("%(amount)s off") % {"amount": _amount(tier["amount_off"])}
    else:
        discount = _("%(percent)s%% off") % {"percent": _amount(tier["percent_off"])}
    return _amount(tier["threshold"]), discount


def offer_text(promotion: Promotion) -> tuple[str, str, str]:
    """(threshold, discount, a line saying both) for a message: 满199减30 reads "Spend 199, get 30 off"."""
    kind = promotion.kind
    if kind in (PromotionKind.FULL_REDUCTION, PromotionKind.ORDER_DISCOUNT, PromotionKind.FIRST_ORDER):
        tiers = [_tier_text(tier) for tier in promotion.tiers]
        if not tiers:
            return "", "", ""
        if promotion.repeat:
            pattern = _("Every %(threshold)s, get %(discount)s")
        elif promotion.by_units:
            pattern = _("Buy %(threshold)s, get %(discount)s")
        else:
            pattern = _("Spend %(threshold)s, get %(discount)s")
        offer = " / ".join(pattern % {"threshold": threshold, "discount": discount} for threshold, discount in tiers)
        return tiers[0][0], tiers[0][1], offer
    if kind == PromotionKind.BUY_X_GET_Y:
        percent = promotion.percent_off or Decimal(100)
        text = (
            _("Buy %(buy)s, get %(get)s free") % {"buy": promotion.buy, "get": promotion.get}
            if percent == 100
            else _("Buy %(buy)s, get %(get)s at %(percent)s%% off")
            % {"buy": promotion.buy, "get": promotion.get, "percent": _amount(percent)}
        )
        return str(promotion.buy or ""), "", text
    if promotion.price is not None:
        text = (_("Bundle for %(price)s") if kind == PromotionKind.BUNDLE else _("Now %(price)s")) % {
            "price": _amount(promotion.price)
        }
        return "", _amount(promotion.price), text
    if promotion.percent_off is not None:
        discount = _("%(percent)s%% off") % {"percent": _amount(promotion.percent_off)}
        return "", discount, discount
    discount = _("%(amount)s off") % {"amount": _amount(promotion.amount_off or 0)}
    return "", discount, discount


def held_facts(customer_ids: Iterable[int], at: dt.datetime) -> dict[int, dict[str, str]]:
    """Per customer, the personal promotion they hold that lasts longest (what a message shows as
    ``promotion``): ``code``, ``name``, ``threshold``, ``discount``, ``offer`` and ``expires_at`` (local
    time). One query for the batch."""
    facts: dict[int, dict[str, str]] = {}
    grants = (
        in_force(customer_ids, at)
        .filter(promotion__is_active=True)
        .select_related("promotion")
        .order_by("customer_id", "-valid_until", "-id")
    )
    for grant_row in grants:
        if grant_row.customer_id in facts:
            continue
        promotion = grant_row.promotion
        threshold, discount, offer = offer_text(promotion)
        facts[grant_row.customer_id] = {
            "code": promotion.code,
            "name": promotion.name,
            "threshold": threshold,
            "discount": discount,
            "offer": offer,
            "expires_at": timezone.localtime(grant_row.valid_until).strftime("%Y-%m-%d %H:%M"),
        }
    return facts
