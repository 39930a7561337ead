"""The shop's checkout: quote what a member's assets can do for a cart, redeem points, a coupon
and stored value together in one transaction, and reverse them together.

Order of application: the promotions engine (item-level offers, the member price a level or card
gives among them, then one order-level offer; ``rapport.promotions``), then the coupon, then points
(at most the programme's share of what is left, at its points-per-unit rate), then stored value (at
most what is still due). The promotions a redemption used are recorded under its key and given back
with it, in part for a partial refund. A redemption is keyed by the shop's idempotency key:
repeating the request returns the first redemption; it either happens whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.commerce.models import Order, Refund
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import ZERO, Asset, Coupon, CouponStatus, Entry, EntryKind, Membership, Redemption
from rapport.loyalty.services import coupons, ledger, stored_value
from rapport.loyalty.services.cards import active_cards
from rapport.loyalty.services.cart import Cart, engine_lines
from rapport.loyalty.services.ledger import CENT, Posting
from rapport.loyalty.services.program import program_settings
from rapport.promotions.pricing import ItemOffer, Layer
from rapport.promotions.services import (
    MEMBER_PRICE_KEY,
    Priced,
    RunningPromotions,
    Shopper,
    available,
    member_price_offer,
    price_cart,
    record_uses,
    reverse_uses,
)


@dataclass(frozen=True)
class MemberPerks:
    discount_percent: Decimal
    free_shipping: bool


def member_perks(customer_id: int) -> MemberPerks:
    """The best discount and shipping perk among the member's level and active cards."""
    percents = [ZERO]
    free_shipping = False
    membership = Membership.objects.select_related("level").filter(customer_id=customer_id).first()
    if membership and membership.level:
        percents.append(membership.level.discount_percent)
        free_shipping = membership.level.free_shipping
    for card in active_cards(customer_id):
        percents.append(card.card_type.discount_percent)
        free_shipping = free_shipping or card.card_type.free_shipping
    return MemberPerks(max(percents), free_shipping)


@dataclass(frozen=True)
class Promotions:
    """What the promotions engine did to a cart: the member price's part, the promotions' part and the
    coupon's part (its coupon layer: at most one of the coupons it was given)."""

    priced: Priced
    member_discount: Decimal
    promotion_discount: Decimal
    coupon_discount: Decimal
    coupon_code: str


@dataclass(frozen=True)
class PricingInputs:
    """What pricing a cart for a customer needs besides the coupons, looked up once a request (the
    quote prices the cart once without a coupon and once per coupon held)."""

    shopper: Shopper
    member: ItemOffer | None
    running: RunningPromotions


def pricing_inputs(customer: Customer, cart: Cart, perks: MemberPerks) -> PricingInputs:
    membership = Membership.objects.select_related("level").filter(customer_id=customer.pk).first()
    shopper = Shopper(
        customer_id=customer.pk,
        level_code=membership.level.name if membership and membership.level else "",
        is_new=not Order.objects.filter(customer_id=customer.pk).exists(),
    )
    running = available(
        shopper, store_id=cart.store_id, channel=cart.channel, at=timezone.now(), lines=engine_lines(cart)
    )
    return PricingInputs(shopper, member_price_offer(perks.discount_percent, _("Member price")), running)


def price_promotions(
    customer: Customer,
    cart: Cart,
    perks: MemberPerks,
    held: Sequence[Coupon] = (),
    *,
    inputs: PricingInputs | None = None,
) -> Promotions:
    """The cart priced by the promotions engine for this customer, with ``held`` (coupons already
    found usable on this cart, ``coupons.refusal_for``) as its coupon layer; ``inputs`` when the
    caller has already looked them up."""
    inputs = inputs or pricing_inputs(customer, cart, perks)
    priced = price_cart(
        engine_lines(cart),
        shopper=inputs.shopper,
        store_id=cart.store_id,
        channel=cart.channel,
        extra_items=[inputs.member] if inputs.member else [],
        coupons=[coupons.coupon_offer(coupon) for coupon in held],
        promotions=inputs.running,
    )
    applied = priced.quote.applied
    member_discount = sum((a.amount for a in applied if a.key == MEMBER_PRICE_KEY), ZERO)
    coupon = next((a for a in applied if a.layer == Layer.COUPON), None)
    coupon_discount = ZERO if coupon is None else coupon.amount
    return Promotions(
        priced,
        member_discount,
        priced.quote.discount - member_discount - coupon_discount,
        coupon_discount,
        "" if coupon is None else coupon.key,
    )


def points_value(points: int) -> Decimal:
    rate = program_settings().points_per_currency_unit
    return (Decimal(points) / rate).quantize(CENT, rounding=ROUND_FLOOR)


def max_points_for(amount: Decimal, balance: Decimal) -> int:
    """The most points usable against ``amount`` under the programme's share limit."""
    program = program_settings()
    limit = (amount * program.max_points_share * program.points_per_currency_unit).to_integral_value(ROUND_FLOOR)
    return int(max(min(limit, balance), ZERO))


@dataclass(frozen=True)
class CouponOption:
    code: str
    name: str
    valid_until: datetime | None
    applicable: bool
    discount: Decimal
    reason: str


def quote(customer: Customer, cart: Cart) -> dict[str, Any]:
    """What the member's assets can do for this cart; reads only. Each coupon the customer holds is
    priced as the engine's coupon layer (the promotions may then combine differently: an order offer
    that excludes coupons gives way when the coupon is worth more); the best one is what points are
    counted after."""
    perks = member_perks(customer.pk)
    inputs = pricing_inputs(customer, cart, perks)
    promotions = price_promotions(customer, cart, perks, inputs=inputs)
    after_member = cart.total - promotions.priced.quote.discount
    best_total = promotions.priced.quote.discount
    coupon_rows: list[CouponOption] = []
    for coupon in (
        Coupon.objects.filter(customer=customer, status=CouponStatus.ISSUED)
        .select_related("template")
        .prefetch_related("template__stores")
    ):
        refusal = coupons.refusal_for(coupon, cart)
        discount, reason = ZERO, "" if refusal is None else refusal.message
        if refusal is None:
            with_coupon = price_promotions(customer, cart, perks, [coupon], inputs=inputs)
            discount = with_coupon.coupon_discount
            if discount <= 0:
                reason = _coupon_refusal(coupon, promotions).message
            best_total = max(best_total, with_coupon.priced.quote.discount)
        coupon_rows.append(
            CouponOption(
                code=coupon.code,
                name=coupon.template.name,
                valid_until=coupon.valid_until,
                applicable=not reason,
                discount=discount,
                reason=reason,
            )
        )
    coupon_rows.sort(key=lambda row: (not row.applicable, -row.discount))
    accounts = {a.asset: a for a in customer.asset_accounts.all()}
    points_balance = ledger.spendable(accounts[Asset.POINTS]) if Asset.POINTS in accounts else ZERO
    usable = max_points_for(cart.total - best_total, points_balance)
    wallet = stored_value.balance(customer.pk)
    return {
        "cart_total": cart.total,
        "member_discount": {"percent": perks.discount_percent, "amount": promotions.member_discount},
        "promotions": {
            "discount": promotions.promotion_discount,
            "after": after_member,
            "applied": [
                {"code": a.key, "name": a.label, "layer": str(a.layer), "amount": a.amount}
                for a in promotions.priced.quote.applied
                if a.key != MEMBER_PRICE_KEY and a.layer != Layer.COUPON
            ],
        },
        "free_shipping": perks.free_shipping,
        "coupons": coupon_rows,
        "points": {
            "balance": points_balance,
            "max_usable": usable,
            "max_value": points_value(usable),
            "points_per_currency_unit": program_settings().points_per_currency_unit,
        },
        "stored_value": wallet,
    }


@transaction.atomic
def redeem(
    customer: Customer,
    cart: Cart,
    *,
    key: str,
    order_reference: str,
    actor: Actor,
    points: int = 0,
    coupon_code: str = "",
    stored_value_amount: Decimal = ZERO,
) -> Redemption:
    """Use points, a coupon and stored value for one order, all or nothing, once per key."""
    if points < 0 or stored_value_amount < 0:
        raise InvalidInput.single("points", "negative", _("Amounts cannot be negative."))
    # Looked up after the lock: a concurrent retry with the same key waits, then finds the first.
    accounts = ledger.lock_accounts(customer.pk, (Asset.POINTS, Asset.PRINCIPAL, Asset.BONUS))
    done = Redemption.objects.filter(idempotency_key=key).select_related("coupon").first()
    if done is not None:
        asked = (customer.pk, order_reference, cart.total, points, stored_value_amount, coupon_code.strip().upper())
        if asked != _request_of(done):
            raise ledger.key_reused()
        return done
    perks = member_perks(customer.pk)
    coupon = coupons.find_for_customer(coupon_code, customer, lock=True) if coupon_code else None
    if coupon is not None:
        refusal = coupons.refusal_for(coupon, cart)
        if refusal is not None:
            raise Conflict(refusal)
    promotions = price_promotions(customer, cart, perks, [coupon] if coupon else [])
    if coupon is not None and promotions.coupon_discount <= 0:
        raise Conflict(_coupon_refusal(coupon, price_promotions(customer, cart, perks)))
    record_uses(promotions.priced, customer_id=customer.pk, order_id=None, key=f"checkout:{key}", actor=actor)
    due = cart.total - promotions.priced.quote.discount
    coupon_discount = promotions.coupon_discount
    if coupon is not None:
        coupons.redeem_locked(
            coupon,
            cart,
            key=f"coupon:redeem:checkout:{key}",
            order_reference=order_reference,
            actor=actor,
            priced=coupon_discount,
        )
    value = ZERO
    if points:
        ledger.expire_due_lots(accounts[Asset.POINTS])
        allowed = max_points_for(due, Decimal(points))
        if points > allowed:
            raise Conflict(
                FieldError(
                    "points",
                    "over_limit",
                    _("At most %(points)s points can be used on this cart.") % {"points": allowed},
                )
            )
        value = points_value(points)
        ledger.debit(
            accounts[Asset.POINTS],
            Decimal(points),
            Posting(EntryKind.SPEND, f"checkout:{key}:points", actor, reference=order_reference),
            insufficient_field="points",
        )
        due -= value
    if stored_value_amount:
        if stored_value_amount > due:
            raise Conflict.single(
                "stored_value", "over_due", _("Only %(due)s is left to pay.") % {"due": max(due, ZERO)}
            )
        stored_value.spend_locked(
            accounts, stored_value_amount, key=f"checkout:{key}:sv", actor=actor, reference=order_reference
        )
        due -= stored_value_amount
    redemption = Redemption(
        customer=customer,
        idempotency_key=key,
        order_reference=order_reference,
        cart_total=cart.total,
        points=points,
        points_value=value,
        coupon=coupon,
        coupon_discount=coupon_discount,
        member_discount=promotions.member_discount,
        promotion_discount=promotions.promotion_discount,
        stored_value=stored_value_amount,
        amount_due=max(due, ZERO),
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            redemption.save()
    except IntegrityError as exc:  # the key was taken meanwhile for another customer
        raise ledger.key_reused() from exc
    return redemption


def _coupon_refusal(coupon: Coupon, without: Promotions) -> FieldError:
    """Why a usable coupon took nothing in the engine: a promotion the cart gets keeps coupons out, or
    what the goods it covers come to after the promotions is below its minimum spend."""
    if not all(p.with_coupons for p in without.priced.promotions.values()):
        return FieldError(
            "coupon_code", "excluded", _("A promotion applied to this cart does not combine with coupons.")
        )
    return coupons.below_threshold(coupon)


def _request_of(redemption: Redemption) -> tuple[int, str, Decimal, int, Decimal, str]:
    """What was asked for under a redemption's key: a retry must ask for the same, or it is refused."""
    coupon_code = redemption.coupon.code if redemption.coupon else ""
    return (
        redemption.customer_id,
        redemption.order_reference,
        redemption.cart_total,
        redemption.points,
        redemption.stored_value,
        coupon_code,
    )


@transaction.atomic
def reverse(redemption: Redemption, *, actor: Actor, return_coupon: bool = True) -> Redemption:
    """Give everything a redemption used back (cancelled order, full refund); safe to repeat."""
    locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if locked.status == Redemption.Status.REVERSED:
        return locked
    key = locked.idempotency_key
    accounts = ledger.lock_accounts(locked.customer_id, (Asset.POINTS, Asset.PRINCIPAL, Asset.BONUS))
    spent_points = Entry.objects.filter(idempotency_key=f"checkout:{key}:points").first()
    if spent_points is not None:
        posting = Posting(EntryKind.RETURN, f"checkout:{key}:points:return", actor, reference=locked.order_reference)
        ledger.return_debit(accounts[Asset.POINTS], spent_points, posting)
    movement = stored_value.replayed_movement(f"checkout:{key}:sv")
    if movement is not None:
        stored_value.return_movement(
            locked.customer_id, movement, key=f"checkout:{key}:sv:return", actor=actor, reference=locked.order_reference
        )
    if locked.coupon_id and return_coupon:
        coupon = Coupon.objects.select_for_update().get(pk=locked.coupon_id)
        coupons.return_locked(
            coupon, key=f"coupon:return:checkout:{key}", actor=actor, reference=locked.order_reference
        )
    reverse_uses(key=f"checkout:{key}", share=Decimal(1), actor=actor)
    locked.status = Redemption.Status.REVERSED
    locked.reversed_at = timezone.now()
    locked.save(update_fields=["status", "reversed_at"])
    return locked


def reverse_for_order(order: Order, *, refunded: bool, actor: Actor) -> int:
    """A cancelled or fully refunded order gives back what its checkout used."""
    if order.customer_id is None:
        return 0
    reversed_count = 0
    for redemption in Redemption.objects.filter(
        customer_id=order.customer_id, order_reference=order.external_id, status=Redemption.Status.REDEEMED
    ).select_related("coupon__template"):
        give_back_coupon = not refunded or bool(redemption.coupon and redemption.coupon.template.return_on_refund)
        reverse(redemption, actor=actor, return_coupon=give_back_coupon)
        reversed_count += 1
    return reversed_count


def reverse_promotions_for_refund(refund: Refund, *, actor: Actor) -> None:
    """A partial refund gives back the refunded share of each promotion its order's checkout used
    (a full refund reverses the whole redemption instead)."""
    order = refund.order
    if order.customer_id is None or order.total <= 0:
        return
    share = min(refund.amount / order.total, Decimal(1))
    for key in Redemption.objects.filter(
        customer_id=order.customer_id, order_reference=order.external_id, status=Redemption.Status.REDEEMED
    ).values_list("idempotency_key", flat=True):
        reverse_uses(key=f"checkout:{key}", share=share, actor=actor)
