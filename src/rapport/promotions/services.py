"""Promotions' business rules: set one up (checked field by field, overlaps reported), find the ones a
shopper may use now, price a cart through the engine, record the uses under the caps, reverse them.

Every entry point (checkout, counter, API, console) calls these. The caps are kept under concurrent
checkouts by locking the promotions a quote applied (in primary-key order, so two checkouts never
deadlock) and re-checking the counters inside the same transaction that records the use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.promotions import personal
from rapport.promotions.models import Audience, Promotion, PromotionKind, PromotionUse
from rapport.promotions.pricing import (
    Bundle,
    BuyXGetY,
    CartLine,
    CouponOffer,
    ItemOffer,
    Layer,
    OrderOffer,
    Quote,
    Scope,
    Tier,
    UnitPrice,
    price,
)
from rapport.segments.queries import segments_holding

CENT = Decimal("0.01")

# ---------------------------------------------------------------------------------------------
# Setting one up

EDITABLE = (
    "code", "name", "kind", "is_active", "starts_at", "ends_at", "currency", "audience", "level_codes",
    "segment_id", "channels", "skus", "categories", "tiers", "by_units", "repeat", "max_off", "price",
    "percent_off", "amount_off", "max_units_per_line", "buy", "get", "components", "with_order_offers",
    "with_coupons", "per_customer_limit", "total_limit", "units_cap",
)  # fmt: skip


def create_promotion(
    fields: Mapping[str, Any], *, actor: Actor, store_ids: Sequence[int] = ()
) -> tuple[Promotion, list[str]]:
    """A new promotion, and the overlaps worth a look (same kind, same goods, schedules that meet)."""
    promotion = Promotion()
    _assign(promotion, fields)
    _check(promotion)
    with transaction.atomic():
        promotion.save()
        promotion.stores.set(store_ids)
        record(actor, AuditEntry.Action.CREATE, obj=promotion, changes=_audit_of(fields), sealed=False)
    return promotion, overlap_warnings(promotion)


def update_promotion(
    promotion: Promotion, fields: Mapping[str, Any], *, actor: Actor, store_ids: Sequence[int] | None = None
) -> tuple[Promotion, list[str]]:
    _assign(promotion, fields)
    _check(promotion)
    with transaction.atomic():
        promotion.save()
        if store_ids is not None:
            promotion.stores.set(store_ids)
        record(actor, AuditEntry.Action.UPDATE, obj=promotion, changes=_audit_of(fields), sealed=False)
    return promotion, overlap_warnings(promotion)


def _audit_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in fields.items() if k in EDITABLE}


def _assign(promotion: Promotion, fields: Mapping[str, Any]) -> None:
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise InvalidInput([FieldError(name, "unknown_field", _("This field does not exist.")) for name in unknown])
    for name, value in fields.items():
        setattr(promotion, name, value)


def _decimal(errors: list[FieldError], name: str, value: Any, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            errors.append(FieldError(name, "required", _("Required for this kind of promotion.")))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.append(FieldError(name, "invalid", _("Not a number.")))
        return None
    if not amount.is_finite() or amount < 0:
        errors.append(FieldError(name, "invalid", _("Must be zero or more.")))
        return None
    return amount


def _identity_errors(promotion: Promotion) -> list[FieldError]:
    """A code and a name, the code not another promotion's."""
    if not promotion.code or not promotion.name:
        return [FieldError(n, "required", _("Required.")) for n in ("code", "name") if not getattr(promotion, n)]
    if Promotion.objects.filter(code=promotion.code).exclude(pk=promotion.pk).exists():
        return [FieldError("code", "taken", _("Another promotion has this code."))]
    return []


def _check(promotion: Promotion) -> None:
    """Every rule a promotion's fields must meet, all reported at once, each naming its field."""
    errors: list[FieldError] = []
    if promotion.kind not in PromotionKind.values:
        errors.append(FieldError("kind", "invalid", _("Unknown kind.")))
    if promotion.audience not in Audience.values:
        errors.append(FieldError("audience", "invalid", _("Unknown audience.")))
    errors += _identity_errors(promotion)
    if not isinstance(promotion.starts_at, datetime):
        errors.append(FieldError("starts_at", "required", _("Required.")))
    elif promotion.ends_at is not None and promotion.ends_at <= promotion.starts_at:
        errors.append(FieldError("ends_at", "invalid", _("Must be after the start.")))
    if promotion.audience == Audience.LEVELS and not promotion.level_codes:
        errors.append(FieldError("level_codes", "required", _("Name at least one level.")))
    if promotion.audience == Audience.SEGMENT and not promotion.segment_id:
        errors.append(FieldError("segment_id", "required", _("Choose a segment.")))
    for name in ("level_codes", "channels", "skus", "categories"):
        value = getattr(promotion, name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors.append(FieldError(name, "invalid", _("A list of names.")))
    for name in ("per_customer_limit", "total_limit", "units_cap", "max_units_per_line", "buy", "get"):
        value = getattr(promotion, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            errors.append(FieldError(name, "invalid", _("A whole number of at least 1, or empty.")))
    for name in ("max_off", "price", "amount_off"):
        setattr(promotion, name, _decimal(errors, name, getattr(promotion, name)))
    percent = _decimal(errors, "percent_off", promotion.percent_off)
    if percent is not None and not 0 < percent <= 100:
        errors.append(FieldError("percent_off", "invalid", _("Between 0 and 100.")))
    promotion.percent_off = percent
    errors += _kind_errors(promotion)
    if errors:
        raise InvalidInput(errors)


def _kind_errors(promotion: Promotion) -> list[FieldError]:
    kind = promotion.kind
    if kind in (PromotionKind.FULL_REDUCTION, PromotionKind.ORDER_DISCOUNT, PromotionKind.FIRST_ORDER):
        return _tier_errors(promotion)
    if kind in (PromotionKind.ITEM_DISCOUNT, PromotionKind.LIMITED_TIME_PRICE, PromotionKind.MEMBER_PRICE):
        given = [n for n in ("price", "percent_off", "amount_off") if getattr(promotion, n) is not None]
        if len(given) != 1:
            return [FieldError("percent_off", "required", _("Give exactly one of price, percent off or amount off."))]
        if kind == PromotionKind.MEMBER_PRICE and promotion.audience != Audience.LEVELS:
            return [FieldError("audience", "invalid", _("A member price is for members of some levels."))]
        return []
    if kind == PromotionKind.BUY_X_GET_Y:
        missing = [n for n in ("buy", "get") if getattr(promotion, n) is None]
        return [FieldError(n, "required", _("Required for buy X get Y.")) for n in missing]
    if kind == PromotionKind.BUNDLE:
        errors = []
        parts = promotion.components
        if (
            not isinstance(parts, list)
            or len(parts) < 2
            or not all(
                isinstance(p, list | tuple)
                and len(p) == 2
                and isinstance(p[0], str)
                and isinstance(p[1], int)
                and p[1] >= 1
                for p in parts
            )
        ):
            errors.append(FieldError("components", "invalid", _("At least two [SKU, units] pairs.")))
        if promotion.price is None:
            errors.append(FieldError("price", "required", _("A bundle needs its price.")))
        return errors
    return []


def _tier_errors(promotion: Promotion) -> list[FieldError]:
    tiers = promotion.tiers
    if not isinstance(tiers, list) or not tiers:
        return [FieldError("tiers", "required", _("At least one tier."))]
    errors: list[FieldError] = []
    thresholds: list[Decimal] = []
    for n, tier in enumerate(tiers):
        name = f"tiers[{n}]"
        if not isinstance(tier, dict):
            errors.append(FieldError(name, "invalid", _("A tier has a threshold and an amount or percent off.")))
            continue
        threshold = _decimal(errors, f"{name}.threshold", tier.get("threshold"), required=True)
        amount = _decimal(errors, f"{name}.amount_off", tier.get("amount_off"))
        percent = _decimal(errors, f"{name}.percent_off", tier.get("percent_off"))
        if (amount is None) == (percent is None):
            errors.append(FieldError(name, "invalid", _("Give an amount off or a percent off, not both.")))
        if percent is not None and not 0 < percent <= 100:
            errors.append(FieldError(f"{name}.percent_off", "invalid", _("Between 0 and 100.")))
        if threshold is not None and amount is not None and not promotion.by_units and amount > threshold > 0:
            errors.append(FieldError(f"{name}.amount_off", "invalid", _("Takes off more than the threshold.")))
        if threshold is not None:
            if thresholds and threshold <= thresholds[-1]:
                errors.append(FieldError(f"{name}.threshold", "invalid", _("Thresholds must rise tier by tier.")))
            thresholds.append(threshold)
    if promotion.repeat and len(tiers) != 1:
        errors.append(FieldError("repeat", "invalid", _("Only a single tier repeats.")))
    return errors


def overlap_warnings(promotion: Promotion) -> list[str]:
    """Promotions of the same kind on the same goods whose schedules meet this one's: allowed (the
    engine picks the better), but usually a mistake worth a look."""
    others = Promotion.objects.filter(kind=promotion.kind, is_active=True).exclude(pk=promotion.pk)
    if promotion.ends_at is not None:
        others = others.filter(starts_at__lt=promotion.ends_at)
    others = others.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=promotion.starts_at))
    mine = set(promotion.skus) | {f"category:{c}" for c in promotion.categories}
    warnings = []
    for other in others.order_by("code"):
        theirs = set(other.skus) | {f"category:{c}" for c in other.categories}
        if not mine or not theirs or mine & theirs:
            warnings.append(
                _("Overlaps %(code)s (%(name)s) on the same goods at the same time.")
                % {"code": other.code, "name": other.name}
            )
    return warnings


# ---------------------------------------------------------------------------------------------
# Pricing a cart


@dataclass(frozen=True)
class Shopper:
    """What the audience rules need to know about who is buying; the caller (checkout) knows it.
    Segments are looked up for a customer when a promotion for a segment could touch the cart;
    ``segment_ids`` are those already known to hold them (the preview calculator's "as if")."""

    customer_id: int | None = None
    level_code: str = ""
    segment_ids: frozenset[int] = frozenset()
    is_new: bool = False


@dataclass(frozen=True)
class Priced:
    quote: Quote
    promotions: dict[str, Promotion] = field(default_factory=dict)  # by code, those the quote applied


def offer_of(promotion: Promotion) -> ItemOffer | OrderOffer:
    """The engine's offer for a promotion; its key is the promotion's code."""
    scope = Scope(frozenset(promotion.skus), frozenset(promotion.categories))
    key, label = promotion.code, promotion.name
    with_order_offers, with_coupons = promotion.with_order_offers, promotion.with_coupons
    kind = promotion.kind
    if kind in (PromotionKind.FULL_REDUCTION, PromotionKind.ORDER_DISCOUNT, PromotionKind.FIRST_ORDER):
        tiers = tuple(
            Tier(
                Decimal(str(t["threshold"])),
                None if t.get("amount_off") in (None, "") else Decimal(str(t["amount_off"])),
                None if t.get("percent_off") in (None, "") else Decimal(str(t["percent_off"])),
            )
            for t in promotion.tiers
        )
        return OrderOffer(
            key,
            label,
            tiers=tiers,
            scope=scope,
            by_units=promotion.by_units,
            repeat=promotion.repeat,
            max_off=promotion.max_off,
            with_coupons=promotion.with_coupons,
        )
    if kind == PromotionKind.BUY_X_GET_Y:
        return BuyXGetY(
            key,
            label,
            buy=promotion.buy or 1,
            get=promotion.get or 1,
            scope=scope,
            percent_off=promotion.percent_off or Decimal(100),
            with_order_offers=with_order_offers,
            with_coupons=with_coupons,
        )
    if kind == PromotionKind.BUNDLE:
        parts = tuple((str(sku), int(units)) for sku, units in promotion.components)
        return Bundle(key, label, parts, promotion.price or Decimal(0), with_order_offers, with_coupons)
    max_units = promotion.max_units_per_line
    if promotion.units_cap is not None:
        left = max(promotion.units_cap - promotion.units_sold, 0)
        max_units = left if max_units is None else min(max_units, left)
    return UnitPrice(
        key,
        label,
        scope=scope,
        price=promotion.price,
        percent_off=promotion.percent_off,
        amount_off=promotion.amount_off,
        max_units=max_units,
        with_order_offers=with_order_offers,
        with_coupons=with_coupons,
    )


MEMBER_PRICE_KEY = "member-price"


def member_price_offer(percent_off: Decimal, label: str) -> UnitPrice | None:
    """The member-price kind (会员价) for a discount a level or a card gives on every product: the
    same offer a member-price promotion makes, so the engine weighs it against the other item offers
    (at most one a line). None when there is no discount."""
    if percent_off <= 0:
        return None
    return UnitPrice(MEMBER_PRICE_KEY, label, percent_off=percent_off)


# What :func:`available` returns, named for callers that keep it between pricings (the checkout prices
# the cart once per held coupon against one look-up) without reading this app's models.
RunningPromotions = list[Promotion]


def available(
    shopper: Shopper, *, store_id: int | None, channel: str, at: datetime, lines: Sequence[CartLine] | None = None
) -> RunningPromotions:
    """The promotions this shopper may use at this store, on this channel, now: running, for their
    audience (a segment's membership at ``at``, looked up only for the promotions that could touch
    the cart's ``lines`` when given), with uses left in total and for them."""
    running = (
        Promotion.objects.filter(is_active=True, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .filter(Q(total_limit__isnull=True) | Q(times_used__lt=F("total_limit")))
        .filter(Q(units_cap__isnull=True) | Q(units_sold__lt=F("units_cap")))
        .annotate(store_count=Count("stores"))
    )
    if store_id is None:
        running = running.filter(store_count=0)
    else:
        running = running.filter(Q(store_count=0) | Q(stores__id=store_id)).distinct()
    promotions: list[Promotion] = [p for p in running if _for_shopper(p, shopper, channel)]
    promotions = personal.keep_held(promotions, shopper.customer_id, at)  # a grant's uses are its own
    limited = [p.pk for p in promotions if p.per_customer_limit is not None and p.audience != Audience.PERSONAL]
    if limited and shopper.customer_id is not None:
        used = dict(
            PromotionUse.objects.filter(promotion_id__in=limited, customer_id=shopper.customer_id, reversed_amount=0)
            .values_list("promotion_id")
            .annotate(n=Count("id"))
        )
        promotions = [p for p in promotions if p.per_customer_limit is None or used.get(p.pk, 0) < p.per_customer_limit]
    elif limited:  # a guest cannot be counted, so customer-limited offers are for members
        promotions = [p for p in promotions if p.per_customer_limit is None]
    return _in_segments(promotions, shopper, at=at, lines=lines)


def _in_segments(
    promotions: list[Promotion], shopper: Shopper, *, at: datetime, lines: Sequence[CartLine] | None
) -> list[Promotion]:
    """Drops the promotions for a segment the shopper is not in at ``at``: the segments of the
    promotions that could touch the cart (every one without a cart) are looked up for the customer in
    one go, each rule evaluated live by the segments app; a guest has only the segments named."""
    asked = {
        p.segment_id
        for p in promotions
        if p.audience == Audience.SEGMENT
        and p.segment_id is not None
        and p.segment_id not in shopper.segment_ids
        and (lines is None or _touches(p, lines))
    }
    held = set(shopper.segment_ids)
    if asked and shopper.customer_id is not None:
        held |= segments_holding(shopper.customer_id, asked, now=at)
    return [p for p in promotions if p.audience != Audience.SEGMENT or p.segment_id in held]


def _touches(promotion: Promotion, lines: Sequence[CartLine]) -> bool:
    scope = offer_of(promotion).scope
    return any(scope.covers(line) for line in lines)


def _for_shopper(promotion: Promotion, shopper: Shopper, channel: str) -> bool:
    if promotion.channels and channel not in promotion.channels:
        return False
    if promotion.kind == PromotionKind.FIRST_ORDER and not shopper.is_new:
        return False
    audience = promotion.audience
    if audience == Audience.LEVELS:
        return bool(shopper.level_code) and shopper.level_code in promotion.level_codes
    if audience == Audience.SEGMENT:  # membership is looked up afterwards, for all of them at once
        return shopper.customer_id is not None or promotion.segment_id in shopper.segment_ids
    if audience == Audience.NEW_CUSTOMERS:
        return shopper.is_new
    return True


def price_cart(
    lines: Sequence[CartLine],
    *,
    shopper: Shopper,
    store_id: int | None = None,
    channel: str = "",
    at: datetime | None = None,
    coupons: Iterable[CouponOffer] = (),
    promotions: Iterable[Promotion] | None = None,
    extra_items: Iterable[ItemOffer] = (),
) -> Priced:
    """The cart priced with the best allowed combination of the promotions available to the shopper
    (or ``promotions`` when the caller has them, e.g. the preview calculator), ``extra_items`` (the
    member price a level or card gives, see ``member_price_offer``) and their coupons."""
    running = list(promotions) if promotions is not None else available(
        shopper, store_id=store_id, channel=channel, at=at or timezone.now(), lines=lines
    )  # fmt: skip
    by_code = {p.code: p for p in running}
    items: list[ItemOffer] = list(extra_items)
    orders: list[OrderOffer] = []
    for promotion in running:
        offer = offer_of(promotion)
        (orders if isinstance(offer, OrderOffer) else items).append(offer)  # type: ignore[arg-type]
    quote = price(lines, items, orders, coupons)
    applied = {a.key: by_code[a.key] for a in quote.applied if a.key in by_code and a.layer != Layer.COUPON}
    return Priced(quote, applied)


# ---------------------------------------------------------------------------------------------
# Recording and reversing uses


def record_uses(
    priced: Priced, *, customer_id: int | None, order_id: int | None, key: str, actor: Actor
) -> list[PromotionUse]:
    """Record the promotions a quote applied to a redeemed order, within their caps. Must run inside
    the checkout's transaction; the same ``key`` twice returns the first uses. A cap reached since the
    quote is a Conflict naming the promotion, and nothing is recorded."""
    if not priced.promotions:
        return []
    existing = list(PromotionUse.objects.filter(key=key, promotion__code__in=list(priced.promotions)))
    if existing:
        return existing
    amounts = {a.key: a.amount for a in priced.quote.applied if a.key in priced.promotions}
    units = _units_at_price(priced)
    with transaction.atomic():
        locked = {
            p.code: p
            for p in Promotion.objects.select_for_update().filter(code__in=list(priced.promotions)).order_by("pk")
        }
        uses = []
        for code in sorted(locked):
            promotion = locked[code]
            _check_caps(promotion, customer_id=customer_id, units=units.get(code, 0))
            Promotion.objects.filter(pk=promotion.pk).update(
                times_used=F("times_used") + 1, units_sold=F("units_sold") + units.get(code, 0)
            )
            uses.append(
                PromotionUse.objects.create(
                    promotion=promotion,
                    customer_id=customer_id,
                    order_id=order_id,
                    key=key,
                    amount=amounts[code],
                    order_amount=priced.quote.total,
                    units=units.get(code, 0),
                    currency=promotion.currency,
                )
            )
        record(
            actor,
            AuditEntry.Action.CREATE,
            object_type="promotions.promotionuse",
            object_id=key,
            object_repr=", ".join(sorted(locked)),
            changes={code: str(amounts[code]) for code in sorted(locked)},
            sealed=False,
        )
    return uses


def _check_caps(promotion: Promotion, *, customer_id: int | None, units: int) -> None:
    def conflict(message: str) -> Conflict:
        return Conflict(FieldError("promotions", "cap_reached", f"{promotion.code}: {message}"))

    if promotion.total_limit is not None and promotion.times_used >= promotion.total_limit:
        raise conflict(_("the promotion has been used as often as it may be."))
    if promotion.units_cap is not None and promotion.units_sold + units > promotion.units_cap:
        raise conflict(_("the units at this price have sold out."))
    if promotion.audience == Audience.PERSONAL:
        personal.check_held(promotion, customer_id, timezone.now())
    elif promotion.per_customer_limit is not None:
        if customer_id is None:
            raise conflict(_("this promotion is for members."))
        used = PromotionUse.objects.filter(promotion=promotion, customer_id=customer_id, reversed_amount=0).count()
        if used >= promotion.per_customer_limit:
            raise conflict(_("the customer has used this promotion as often as they may."))


def _units_at_price(priced: Priced) -> dict[str, int]:
    """Units each capped unit price sold at its price (what its quantity cap counts): as the engine
    priced them, at most the units the offer allowed a line."""
    units: dict[str, int] = {}
    for line in priced.quote.lines:
        for adjustment in line.adjustments:
            promotion = priced.promotions.get(adjustment.key)
            if promotion is None or promotion.units_cap is None:
                continue
            offer = offer_of(promotion)
            allowed = offer.max_units if isinstance(offer, UnitPrice) else None
            counted = line.quantity if allowed is None else min(allowed, line.quantity)
            units[adjustment.key] = units.get(adjustment.key, 0) + counted
    return units


def reverse_uses(*, key: str, share: Decimal, actor: Actor) -> list[PromotionUse]:
    """A refund of ``share`` (0..1) of a redeemed order gives back that share of each promotion's
    discount (rounded to the cent, never past the whole); when the whole is back, the use and its
    units no longer count toward the caps."""
    share = min(max(share, Decimal(0)), Decimal(1))
    with transaction.atomic():
        uses = list(PromotionUse.objects.select_for_update().filter(key=key).order_by("pk"))
        for use in uses:
            back = min(use.amount - use.reversed_amount, (use.amount * share).quantize(CENT, rounding=ROUND_HALF_UP))
            if back <= 0:
                continue
            use.reversed_amount += back
            use.save(update_fields=["reversed_amount"])
            if use.reversed_amount == use.amount:
                Promotion.objects.filter(pk=use.promotion_id).update(
                    times_used=F("times_used") - 1, units_sold=F("units_sold") - use.units
                )
        if uses:
            record(
                actor,
                AuditEntry.Action.UPDATE,
                object_type="promotions.promotionuse",
                object_id=key,
                object_repr="refund",
                changes={"share": str(share)},
                sealed=False,
            )
    return uses
