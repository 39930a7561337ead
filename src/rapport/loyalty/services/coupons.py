"""Coupons (优惠券): templates, codes in bulk, issue and claim, redeem exactly once (核销), return
on refund, expiry.

A coupon is a ledger of quantity one. Its row holds the state; every change writes a
:class:`~rapport.loyalty.models.CouponEvent` whose idempotency key is unique. Issuing locks the
template row (stock and per-customer limits cannot be overrun by concurrent requests); redeeming
locks the coupon row and moves it from ``issued`` to ``redeemed`` only once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.customers.models import Customer
from rapport.loyalty.models import ZERO, Coupon, CouponEvent, CouponKind, CouponStatus, CouponTemplate
from rapport.loyalty.services.cart import Cart, engine_lines
from rapport.promotions.pricing import CouponOffer, Scope, price

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
CODE_LENGTH = 12
MAX_GENERATE = 100_000


def validate_template(template: CouponTemplate) -> None:
    """The business rules a template must satisfy; InvalidInput naming every broken field."""
    errors: list[FieldError] = []
    if template.kind == CouponKind.AMOUNT_OFF and template.amount_off <= 0:
        errors.append(FieldError("amount_off", "required", _("An amount-off coupon needs an amount above zero.")))
    if template.kind == CouponKind.PERCENT_OFF and not 0 < template.percent_off <= 100:
        errors.append(FieldError("percent_off", "invalid", _("A percent-off coupon needs a percentage from 0 to 100.")))
    for name in ("amount_off", "max_discount", "threshold"):
        if getattr(template, name) < 0:
            errors.append(FieldError(name, "negative", _("Cannot be negative.")))
    if not template.valid_days and template.valid_until is None:
        errors.append(
            FieldError("valid_until", "required", _("Give an end date, or a number of days the coupon is valid."))
        )
    if template.valid_from and template.valid_until and template.valid_until <= template.valid_from:
        errors.append(FieldError("valid_until", "before_start", _("The end must be after the start.")))
    if template.total_stock and template.total_stock < template.issued_count:
        errors.append(FieldError("total_stock", "below_issued", _("More coupons were already issued than this.")))
    for name in ("product_skus", "category_codes"):
        value = getattr(template, name)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            errors.append(FieldError(name, "invalid", _("A list of codes.")))
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def save_template(template: CouponTemplate, *, actor: Actor, stores: Iterable[int] | None = None) -> CouponTemplate:
    validate_template(template)
    created = template.pk is None
    template.save()
    if stores is not None:
        template.stores.set(list(stores))
    record(
        actor,
        AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
        obj=template,
        changes={"kind": template.kind, "name": template.name},
    )
    return template


def _record_event(coupon: Coupon, kind: str, *, key: str, at: datetime, actor: Actor, reference: str = "") -> None:
    """One line of a coupon's history; the unique key makes a replayed change write nothing twice."""
    CouponEvent.objects.create(
        coupon=coupon,
        kind=kind,
        idempotency_key=key,
        occurred_at=at,
        reference=reference[:200],
        actor=actor.describe()[:150],
    )


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@transaction.atomic
def generate_codes(template: CouponTemplate, *, count: int, actor: Actor) -> int:
    """Create ``count`` unique codes ready to issue (printed, handed out, imported into a shop)."""
    if not 1 <= count <= MAX_GENERATE:
        raise InvalidInput.single(
            "count", "out_of_range", _("Generate from 1 to %(max)s codes at a time.") % {"max": MAX_GENERATE}
        )
    made = 0
    while made < count:
        batch = [Coupon(template=template, code=_new_code()) for _ in range(min(5000, count - made))]
        Coupon.objects.bulk_create(batch, ignore_conflicts=True)  # a rare clashing code is just retried
        made += Coupon.objects.filter(template=template, code__in=[c.code for c in batch]).count()
    record(actor, AuditEntry.Action.CREATE, obj=template, changes={"codes_generated": count})
    return made


def template_validity(template: CouponTemplate, now: datetime) -> tuple[datetime | None, datetime | None]:
    """When a coupon of the template given ``now`` is valid: its days from now, or the template's dates."""
    if template.valid_days:
        return now, now + timedelta(days=template.valid_days)
    return template.valid_from, template.valid_until


@transaction.atomic
def issue(
    template: CouponTemplate,
    customer: Customer,
    *,
    key: str,
    actor: Actor,
    reference: str = "",
    bundled: bool = False,
    at: datetime | None = None,
) -> Coupon:
    """Give the customer one coupon of the template, within stock and the per-customer limit.

    A ``bundled`` coupon comes with something the customer got (a benefit card's period): the
    per-customer limit governs claims and hand-outs, not what a card promises with every period.
    ``at`` is when it is given (a campaign step's own clock); by default now.
    """
    event_key = f"coupon:issue:{template.pk}:{customer.pk}:{key}"
    done = CouponEvent.objects.filter(idempotency_key=event_key).select_related("coupon").first()
    if done is not None:
        return done.coupon
    locked = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    now = at or timezone.now()
    if not locked.is_active:
        raise Conflict.single("template", "inactive", _("This coupon is not being given out."))
    if locked.valid_until is not None and not locked.valid_days and locked.valid_until <= now:
        raise Conflict.single("template", "ended", _("This coupon has ended."))
    if locked.total_stock and locked.issued_count >= locked.total_stock:
        raise Conflict.single("template", "out_of_stock", _("All of these coupons have been given out."))
    held = Coupon.objects.filter(template=locked, customer=customer).count()
    if locked.per_customer_limit and held >= locked.per_customer_limit and not bundled:
        raise Conflict.single(
            "customer", "limit_reached", _("This customer already has as many of these coupons as allowed.")
        )
    valid_from, valid_until = template_validity(locked, now)
    coupon = Coupon.objects.select_for_update().filter(template=locked, status=CouponStatus.AVAILABLE).first()
    if coupon is None:
        coupon = Coupon(template=locked, code=_new_code())
    coupon.customer = customer
    coupon.status = CouponStatus.ISSUED
    coupon.issued_at = now
    coupon.valid_from, coupon.valid_until = valid_from, valid_until
    coupon.save()
    CouponTemplate.objects.filter(pk=locked.pk).update(issued_count=F("issued_count") + 1)
    _record_event(coupon, CouponEvent.Kind.ISSUE, key=event_key, at=now, actor=actor, reference=reference)
    return coupon


@dataclass(frozen=True)
class IssueReport:
    issued: int
    skipped: dict[str, int]


def issue_to_many(template: CouponTemplate, customers: QuerySet[Customer], *, key: str, actor: Actor) -> IssueReport:
    """Issue to a list or segment: one transaction per customer, so one refusal stops nobody else."""
    issued = 0
    skipped: dict[str, int] = {}
    for customer in customers.order_by("pk").iterator(chunk_size=500):
        try:
            issue(template, customer, key=key, actor=actor, reference=key)
            issued += 1
        except Conflict as exc:
            code = exc.errors[0].code
            skipped[code] = skipped.get(code, 0) + 1
            if code in {"out_of_stock", "inactive", "ended"}:
                break
    return IssueReport(issued, skipped)


def refusal_for(coupon: Coupon, cart: Cart, *, now: datetime | None = None) -> FieldError | None:
    """Why the coupon cannot be used on this cart at all (its state, dates, store, nothing it covers),
    or None. Its minimum spend is judged by the pricing engine, on what the covered goods cost after
    item-level promotions (``coupon_offer``)."""
    now = now or timezone.now()
    template = coupon.template
    if coupon.status != CouponStatus.ISSUED:
        return FieldError(
            "coupon",
            f"coupon_{coupon.status}",
            _("This coupon is %(status)s.") % {"status": coupon.get_status_display()},
        )
    if coupon.valid_from and now < coupon.valid_from:
        return FieldError("coupon", "not_started", _("This coupon is not valid yet."))
    if coupon.valid_until and now >= coupon.valid_until:
        return FieldError("coupon", "expired", _("This coupon has expired."))
    store_ids = [store.pk for store in template.stores.all()]
    if store_ids and cart.store_id not in store_ids:
        return FieldError("coupon", "wrong_store", _("This coupon cannot be used in this store."))
    if cart.amount_in_scope(template.product_skus, template.category_codes) <= 0:
        return FieldError("coupon", "out_of_scope", _("Nothing in the cart is covered by this coupon."))
    return None


def below_threshold(coupon: Coupon) -> FieldError:
    return FieldError(
        "coupon",
        "below_threshold",
        _("The coupon needs a spend of at least %(amount)s.") % {"amount": coupon.template.threshold},
    )


def coupon_offer(coupon: Coupon) -> CouponOffer:
    """The coupon as the pricing engine's coupon layer (its key is the coupon's code): the template's
    minimum spend, amount or percentage off (with its cap) and the goods it covers."""
    template = coupon.template
    percent = template.kind == CouponKind.PERCENT_OFF
    return CouponOffer(
        key=coupon.code,
        label=template.name,
        threshold=template.threshold,
        amount_off=None if percent else template.amount_off,
        percent_off=template.percent_off if percent else None,
        max_off=template.max_discount if percent and template.max_discount > 0 else None,
        scope=Scope(frozenset(template.product_skus), frozenset(template.category_codes)),
    )


def discount_for(coupon: Coupon, cart: Cart, *, now: datetime | None = None) -> tuple[Decimal, FieldError | None]:
    """What the coupon alone takes off this cart (no promotions: a write-off outside the checkout),
    priced by the engine as the checkout prices it, or the reason it does not apply."""
    refusal = refusal_for(coupon, cart, now=now)
    if refusal is not None:
        return ZERO, refusal
    discount = price(engine_lines(cart), coupons=[coupon_offer(coupon)]).discount
    return (discount, None) if discount > 0 else (ZERO, below_threshold(coupon))


def find_for_customer(code: str, customer: Customer, *, lock: bool = False) -> Coupon:
    query = Coupon.objects.select_related("template").prefetch_related("template__stores")
    if lock:
        query = query.select_for_update(of=("self",))
    coupon = query.filter(code=(code or "").strip().upper(), customer=customer).first()
    if coupon is None:
        raise NotFound.single("coupon", "not_found", _("This customer has no coupon with that code."))
    return coupon


def redeem_locked(
    coupon: Coupon, cart: Cart, *, key: str, order_reference: str, actor: Actor, priced: Decimal | None = None
) -> Decimal:
    """Write off a locked coupon for an order; Conflict when it does not apply. Returns the discount:
    ``priced`` when the checkout's engine priced it among the promotions, else the coupon alone."""
    done = CouponEvent.objects.filter(idempotency_key=key).first()
    if done is not None:
        if done.coupon_id != coupon.pk:
            raise Conflict.single(
                "idempotency_key", "reused", _("This idempotency key was already used for a different request.")
            )
        return coupon.discount
    if priced is None:
        discount, refusal = discount_for(coupon, cart)
    else:
        refusal = refusal_for(coupon, cart) or (below_threshold(coupon) if priced <= 0 else None)
        discount = priced
    if refusal is not None:
        raise Conflict(refusal)
    now = timezone.now()
    Coupon.objects.filter(pk=coupon.pk).update(
        status=CouponStatus.REDEEMED, redeemed_at=now, redeemed_order=order_reference[:128], discount=discount
    )
    coupon.status, coupon.redeemed_at, coupon.discount = CouponStatus.REDEEMED, now, discount
    _record_event(coupon, CouponEvent.Kind.REDEEM, key=key, at=now, actor=actor, reference=order_reference)
    return discount


@transaction.atomic
def redeem(
    code: str, customer: Customer, cart: Cart, *, key: str, order_reference: str, actor: Actor
) -> tuple[Coupon, Decimal]:
    """Redeem one coupon exactly once (the shop or a store clerk writes it off)."""
    coupon = find_for_customer(code, customer, lock=True)
    discount = redeem_locked(coupon, cart, key=f"coupon:redeem:{key}", order_reference=order_reference, actor=actor)
    return coupon, discount


def return_locked(coupon: Coupon, *, key: str, actor: Actor, reference: str = "") -> Coupon:
    """Give a redeemed coupon back: issued again while still valid, otherwise expired."""
    if CouponEvent.objects.filter(idempotency_key=key).exists() or coupon.status != CouponStatus.REDEEMED:
        return coupon
    now = timezone.now()
    still_valid = coupon.valid_until is None or coupon.valid_until > now
    coupon.status = CouponStatus.ISSUED if still_valid else CouponStatus.EXPIRED
    coupon.redeemed_at, coupon.redeemed_order, coupon.discount = None, "", ZERO
    coupon.save(update_fields=["status", "redeemed_at", "redeemed_order", "discount"])
    _record_event(coupon, CouponEvent.Kind.RETURN, key=key, at=now, actor=actor, reference=reference)
    return coupon


@transaction.atomic
def void(coupon: Coupon, *, reason: str, actor: Actor) -> Coupon:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", "required", _("Say why the coupon is voided."))
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if locked.status != CouponStatus.ISSUED:
        raise Conflict.single("coupon", "not_voidable", _("Only an issued, unused coupon can be voided."))
    locked.status = CouponStatus.VOID
    locked.save(update_fields=["status"])
    _record_event(
        locked, CouponEvent.Kind.VOID, key=f"coupon:void:{locked.pk}", at=timezone.now(), actor=actor, reference=reason
    )
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"status": "void", "reason": reason})
    return locked


def expire_all(now: datetime | None = None) -> int:
    """Issued coupons past their end become expired (set-based; one event each)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Coupon.objects.select_for_update()
            .filter(status=CouponStatus.ISSUED, valid_until__lte=now)
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        Coupon.objects.filter(pk__in=due).update(status=CouponStatus.EXPIRED)
        CouponEvent.objects.bulk_create(
            [
                CouponEvent(
                    coupon_id=pk,
                    kind=CouponEvent.Kind.EXPIRE,
                    idempotency_key=f"coupon:expire:{pk}:{now:%Y%m%d%H%M%S}",
                    occurred_at=now,
                    actor="expiry",
                )
                for pk in due
            ],
            ignore_conflicts=True,
        )
    return len(due)


def claimable_templates(customer: Customer | None, *, now: datetime | None = None) -> QuerySet[CouponTemplate]:
    """The templates members may claim now; for a ``customer``, only those this customer can still
    get (below the per-customer limit), so the portal offers nothing that would be refused."""
    now = now or timezone.now()
    templates = (
        CouponTemplate.objects.filter(is_active=True, is_claimable=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now) | Q(valid_days__gt=0))
        .filter(Q(total_stock=0) | Q(issued_count__lt=F("total_stock")))
    )
    if customer is None:
        return templates
    held = Count("coupons", filter=Q(coupons__customer=customer))
    return templates.alias(held=held).filter(Q(per_customer_limit=0) | Q(held__lt=F("per_customer_limit")))


def move_coupons(survivor: Customer, merged: Customer) -> int:
    """Merge: the survivor takes the merged customer's coupons (limits are not re-checked)."""
    return Coupon.objects.filter(customer=merged).update(customer=survivor)
