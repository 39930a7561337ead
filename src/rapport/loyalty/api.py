"""``/api/v1/loyalty``: members' assets (balances, statements, adjustments, stored value, coupons,
cards, level) and the shop's checkout (quote, redeem, reverse). Handlers parse, call one service
and shape the answer; customers outside the caller's data scope answer 404.

Every write takes an ``idempotency_key``: sending the same request again returns the first
result; the same key with a different request is a 409.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import CHECKOUT, LOYALTY_READ, LOYALTY_WRITE
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import InvalidInput, NotFound
from rapport.core.jobs import enqueue
from rapport.core.listing import page_body, paginate
from rapport.customers import queries as customer_queries
from rapport.customers.models import Customer, Store
from rapport.loyalty.models import (
    Asset,
    CardType,
    Coupon,
    CouponTemplate,
    Entry,
    Redemption,
)
from rapport.loyalty.responses import (
    AssetsOut,
    GrantCardOut,
    IssueCouponsOut,
    LoyaltyEntryOut,
    LoyaltyEntryPage,
    MovementOut,
    QuoteOut,
    RedemptionOut,
)
from rapport.loyalty.services import adjustments, cards, checkout, coupons, ledger, levels, points, stored_value
from rapport.loyalty.services.cart import Cart, CartItem

router = Router(tags=["loyalty"], exclude_unset=True)

VIEW = "loyalty.view_account"
KEY = Field(min_length=1, max_length=120, description="the caller's idempotency key")


# Bodies ------------------------------------------------------------------------------------------


class AdjustmentIn(Strict):
    asset: Literal["points", "principal", "bonus"]
    delta: Decimal = Field(
        max_digits=12, decimal_places=2, description="positive adds, negative takes; points are whole numbers"
    )
    reason: str = Field(min_length=1, max_length=300)
    idempotency_key: str = KEY


class PointsIn(Strict):
    points: int = Field(gt=0, le=100_000_000)
    idempotency_key: str = KEY
    reason: str = Field("", max_length=300)
    reference: str = Field("", max_length=200, description="campaign code, gift id, …")


class MoneyIn(Strict):
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    idempotency_key: str = KEY
    reference: str = Field("", max_length=200)


class RefundIn(Strict):
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    reason: str = Field(min_length=1, max_length=300)
    idempotency_key: str = KEY


class IssueIn(Strict):
    customer_ids: list[int] | None = Field(None, max_length=10_000)
    segment: int | None = Field(None, description="a saved segment: issued in the background")
    idempotency_key: str = KEY


class CodesIn(Strict):
    count: int = Field(ge=1, le=coupons.MAX_GENERATE)


class CardIn(Strict):
    card_type: int
    idempotency_key: str = KEY
    amount_paid: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)


class CartItemIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="line total")
    category: str = Field("", max_length=60)
    quantity: int = Field(1, ge=1, le=100_000, description="units on the line (default 1)")
    unit_price: Decimal | None = Field(
        None, ge=0, max_digits=12, decimal_places=2, description="price of one unit; quantity × unit_price = amount"
    )


class CartIn(Strict):
    total: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="goods before any asset is used")
    items: list[CartItemIn] = Field(default_factory=list, max_length=500)
    store: str | None = Field(None, description="store code")
    shipping: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    channel: str = Field("", max_length=40, description="sales channel promotions may be limited to")


class QuoteIn(Strict):
    customer: int | str = Field(description="customer id, or channel:external_id")
    cart: CartIn


class RedeemIn(QuoteIn):
    idempotency_key: str = KEY
    order_reference: str = Field(min_length=1, max_length=128, description="the shop's order id")
    points: int = Field(0, ge=0, le=100_000_000)
    coupon_code: str = Field("", max_length=32)
    stored_value: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)


# Shapes ------------------------------------------------------------------------------------------


def entry_body(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "asset": entry.account.asset,
        "kind": entry.kind,
        "amount": str(entry.amount),
        "balance_after": str(entry.balance_after),
        "occurred_at": entry.occurred_at.isoformat(),
        "order_id": entry.order_id,
        "reference": entry.reference,
        "reason": entry.reason,
        "by": entry.actor,
        "idempotency_key": entry.idempotency_key,
    }


def coupon_body(coupon: Coupon) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "template": {"id": coupon.template_id, "name": coupon.template.name},
        "customer_id": coupon.customer_id,
        "status": coupon.status,
        "issued_at": coupon.issued_at.isoformat() if coupon.issued_at else None,
        "valid_from": coupon.valid_from.isoformat() if coupon.valid_from else None,
        "valid_until": coupon.valid_until.isoformat() if coupon.valid_until else None,
        "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
        "redeemed_order": coupon.redeemed_order,
        "discount": str(coupon.discount),
    }


def template_body(template: CouponTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "name": template.name,
        "kind": template.kind,
        "amount_off": str(template.amount_off),
        "percent_off": str(template.percent_off),
        "max_discount": str(template.max_discount),
        "threshold": str(template.threshold),
        "product_skus": template.product_skus,
        "category_codes": template.category_codes,
        "valid_from": template.valid_from.isoformat() if template.valid_from else None,
        "valid_until": template.valid_until.isoformat() if template.valid_until else None,
        "valid_days": template.valid_days,
        "per_customer_limit": template.per_customer_limit,
        "total_stock": template.total_stock,
        "issued_count": template.issued_count,
        "return_on_refund": template.return_on_refund,
        "is_claimable": template.is_claimable,
        "is_active": template.is_active,
    }


def movement_body(movement: stored_value.Movement, customer_id: int) -> dict[str, Any]:
    parts = [e for e in (movement.principal, movement.bonus) if e is not None]
    return {
        "entries": [entry_body(e) for e in parts],
        "balance": {k: str(v) for k, v in stored_value.balance(customer_id).items()},
    }


def redemption_body(redemption: Redemption) -> dict[str, Any]:
    return {
        "id": redemption.pk,
        "idempotency_key": redemption.idempotency_key,
        "customer_id": redemption.customer_id,
        "order_reference": redemption.order_reference,
        "status": redemption.status,
        "cart_total": str(redemption.cart_total),
        "member_discount": str(redemption.member_discount),
        "promotion_discount": str(redemption.promotion_discount),
        "coupon_code": redemption.coupon.code if redemption.coupon else None,
        "coupon_discount": str(redemption.coupon_discount),
        "points": redemption.points,
        "points_value": str(redemption.points_value),
        "stored_value": str(redemption.stored_value),
        "amount_due": str(redemption.amount_due),
        "created_at": redemption.created_at.isoformat(),
        "reversed_at": redemption.reversed_at.isoformat() if redemption.reversed_at else None,
    }


def assets_body(customer: Customer) -> dict[str, Any]:
    held = {asset: "0.00" for asset in Asset.values}
    held.update({asset: str(value) for asset, value in ledger.balances(customer.pk).items()})
    progress = levels.progress(customer.pk)
    level, next_level = progress["level"], progress["next_level"]
    return {
        "customer_id": customer.pk,
        "balances": held,
        "stored_value": {k: str(v) for k, v in stored_value.balance(customer.pk).items()},
        "level": {
            "name": getattr(level, "name", None),
            "growth": str(progress["growth"]),
            "next_level": getattr(next_level, "name", None),
            "needed": str(progress["needed"]),
        },
        "points_expiring": [
            {"expires_at": when.isoformat(), "points": str(amount)}
            for when, amount in points.expiring(customer.pk, within_days=90)
        ],
        "coupons": {
            status: Coupon.objects.filter(customer=customer, status=status).count()
            for status in ("issued", "redeemed", "expired")
        },
        "cards": [
            {"card_type": card.card_type.name, "ends_at": card.ends_at.isoformat()}
            for card in cards.active_cards(customer.pk)
        ],
    }


# Helpers -----------------------------------------------------------------------------------------


def _cart(cart: CartIn) -> Cart:
    store_id = None
    if cart.store:
        store_id = Store.objects.filter(code=cart.store).values_list("pk", flat=True).first()
        if store_id is None:
            raise InvalidInput.single("cart.store", "not_found", f"no store with code {cart.store!r}")
    for n, item in enumerate(cart.items):
        if item.unit_price is not None and item.unit_price * item.quantity != item.amount:
            raise InvalidInput.single(
                f"cart.items[{n}].unit_price", "mismatch", "quantity × unit_price must equal the line amount"
            )
    items = tuple(CartItem(i.sku, i.amount, i.category, i.quantity, i.unit_price) for i in cart.items)
    return Cart(total=cart.total, items=items, store_id=store_id, shipping=cart.shipping, channel=cart.channel)


# Member assets -----------------------------------------------------------------------------------


@router.get(
    "/loyalty/customers/{customer_id}/assets",
    response={200: AssetsOut},
    summary="Balances, level and progress, coupons, cards",
)
def customer_assets(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, LOYALTY_READ, VIEW)
    return assets_body(customer_queries.visible_customer(request.user, customer_id))


@router.get(
    "/loyalty/customers/{customer_id}/entries",
    response={200: LoyaltyEntryPage},
    summary="The statement of one asset, newest first",
)
def customer_entries(
    request: HttpRequest,
    customer_id: int,
    asset: Literal["points", "principal", "bonus"] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, LOYALTY_READ, VIEW)
    customer = customer_queries.visible_customer(request.user, customer_id)
    entries = (
        Entry.objects.filter(account__customer=customer).select_related("account").order_by(*ledger.STATEMENT_ORDER)
    )
    if asset:
        entries = entries.filter(account__asset=asset)
    page = paginate(entries, limit=limit, offset=offset)
    return page_body(page, [entry_body(e) for e in page.items])


@router.post(
    "/loyalty/customers/{customer_id}/adjustments", response={201: LoyaltyEntryOut}, summary="Adjust a balance by hand"
)
def adjust(request: HttpRequest, customer_id: int, payload: AdjustmentIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.adjust_balance")
    customer = customer_queries.visible_customer(request.user, customer_id)
    entry = adjustments.adjust(
        customer,
        asset=payload.asset,
        delta=payload.delta,
        reason=payload.reason,
        key=payload.idempotency_key,
        actor=actor_for(request),
    )
    return Status(201, entry_body(entry))


@router.post(
    "/loyalty/customers/{customer_id}/points/award",
    response={201: LoyaltyEntryOut},
    summary="Award points (campaigns, gifts)",
)
def award_points(request: HttpRequest, customer_id: int, payload: PointsIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.adjust_balance")
    customer = customer_queries.visible_customer(request.user, customer_id)
    entry = points.award(
        customer,
        points=payload.points,
        key=f"points:award:{customer.pk}:{payload.idempotency_key}",
        actor=actor_for(request),
        reason=payload.reason,
        reference=payload.reference,
    )
    return Status(201, entry_body(entry))


@router.post(
    "/loyalty/customers/{customer_id}/points/spend", response={201: LoyaltyEntryOut}, summary="Redeem points for a gift"
)
def spend_points(request: HttpRequest, customer_id: int, payload: PointsIn) -> Status[dict[str, Any]]:
    require(request, CHECKOUT, "loyalty.redeem_coupon")
    customer = customer_queries.visible_customer(request.user, customer_id)
    entry = points.spend(
        customer,
        points=payload.points,
        key=f"points:spend:{customer.pk}:{payload.idempotency_key}",
        actor=actor_for(request),
        reference=payload.reference,
    )
    return Status(201, entry_body(entry))


@router.post(
    "/loyalty/customers/{customer_id}/stored-value/top-ups", response={201: MovementOut}, summary="Top up (with bonus)"
)
def top_up(request: HttpRequest, customer_id: int, payload: MoneyIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.redeem_coupon")
    customer = customer_queries.visible_customer(request.user, customer_id)
    movement = stored_value.top_up(
        customer,
        amount=payload.amount,
        key=payload.idempotency_key,
        actor=actor_for(request),
        reference=payload.reference,
    )
    return Status(201, movement_body(movement, customer.pk))


@router.post(
    "/loyalty/customers/{customer_id}/stored-value/refunds", response={201: MovementOut}, summary="Refund principal"
)
def refund_stored_value(request: HttpRequest, customer_id: int, payload: RefundIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.adjust_balance")
    customer = customer_queries.visible_customer(request.user, customer_id)
    movement = stored_value.refund_principal(
        customer, amount=payload.amount, key=payload.idempotency_key, reason=payload.reason, actor=actor_for(request)
    )
    return Status(201, movement_body(movement, customer.pk))


@router.get(
    "/loyalty/customers/{customer_id}/coupons", response={200: list[dict[str, Any]]}, summary="The customer's coupons"
)
def customer_coupons(request: HttpRequest, customer_id: int, status: str | None = None) -> list[dict[str, Any]]:
    require(request, LOYALTY_READ, VIEW)
    customer = customer_queries.visible_customer(request.user, customer_id)
    found = Coupon.objects.filter(customer=customer).select_related("template")
    if status:
        found = found.filter(status=status)
    return [coupon_body(c) for c in found]


@router.post(
    "/loyalty/customers/{customer_id}/cards", response={201: GrantCardOut}, summary="Give, sell or renew a benefit card"
)
def grant_card(request: HttpRequest, customer_id: int, payload: CardIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.issue_coupon")
    customer = customer_queries.visible_customer(request.user, customer_id)
    card_type = CardType.objects.filter(pk=payload.card_type).first()
    if card_type is None:
        raise InvalidInput.single("card_type", "not_found", f"no card type #{payload.card_type}")
    card = cards.grant(
        card_type, customer, key=payload.idempotency_key, actor=actor_for(request), amount_paid=payload.amount_paid
    )
    return Status(
        201,
        {
            "id": card.pk,
            "card_type": card_type.name,
            "starts_at": card.starts_at.isoformat(),
            "ends_at": card.ends_at.isoformat(),
        },
    )


# Coupon templates --------------------------------------------------------------------------------


@router.get("/loyalty/coupon-templates", response={200: list[dict[str, Any]]}, summary="Coupon templates")
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, LOYALTY_READ, "loyalty.view_coupon")
    return [template_body(t) for t in CouponTemplate.objects.all()]


@router.post(
    "/loyalty/coupon-templates/{template_id}/codes", response={201: dict[str, Any]}, summary="Generate unique codes"
)
def generate_codes(request: HttpRequest, template_id: int, payload: CodesIn) -> Status[dict[str, Any]]:
    require(request, LOYALTY_WRITE, "loyalty.issue_coupon")
    template = _template(template_id)
    made = coupons.generate_codes(template, count=payload.count, actor=actor_for(request))
    return Status(201, {"generated": made})


@router.post(
    "/loyalty/coupon-templates/{template_id}/issue",
    response={200: IssueCouponsOut},
    summary="Issue to customers or a saved segment",
)
def issue_coupons(request: HttpRequest, template_id: int, payload: IssueIn) -> dict[str, Any]:
    from rapport.loyalty.tasks import issue_to_segment
    from rapport.segments.services import get_segment

    require(request, LOYALTY_WRITE, "loyalty.issue_coupon")
    template = _template(template_id)
    if bool(payload.customer_ids) == (payload.segment is not None):
        raise InvalidInput.single("customer_ids", "one_of", "give either customer_ids or segment")
    actor = actor_for(request)
    if payload.segment is not None:
        segment = get_segment(payload.segment)
        enqueue(issue_to_segment, template.pk, segment.pk, payload.idempotency_key, actor.describe())
        return {"queued": True, "segment": segment.pk}
    visible = customer_queries.visible_customers(request.user).filter(pk__in=payload.customer_ids or [])
    missing = set(payload.customer_ids or []) - set(visible.values_list("pk", flat=True))
    if missing:
        raise InvalidInput.single("customer_ids", "not_found", f"no customers {sorted(missing)[:20]}")
    report = coupons.issue_to_many(template, visible, key=payload.idempotency_key, actor=actor)
    return {"issued": report.issued, "skipped": report.skipped}


def _template(template_id: int) -> CouponTemplate:
    template = CouponTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound.single("template", "not_found", f"no coupon template #{template_id}")
    return template


# Checkout ----------------------------------------------------------------------------------------


@router.post(
    "/loyalty/checkout/quote",
    response={200: QuoteOut},
    summary="What points, coupons and stored value can do for a cart",
)
def quote(request: HttpRequest, payload: QuoteIn) -> dict[str, Any]:
    require(request, CHECKOUT, "loyalty.redeem_coupon")
    customer = customer_queries.visible_customer(request.user, payload.customer)
    found = checkout.quote(customer, _cart(payload.cart))
    return {
        "customer_id": customer.pk,
        "cart_total": str(found["cart_total"]),
        "member_discount": {k: str(v) for k, v in found["member_discount"].items()},
        "promotions": {
            "discount": str(found["promotions"]["discount"]),
            "after": str(found["promotions"]["after"]),
            "applied": [{**a, "amount": str(a["amount"])} for a in found["promotions"]["applied"]],
        },
        "free_shipping": found["free_shipping"],
        "coupons": [
            {
                "code": option.code,
                "name": option.name,
                "valid_until": option.valid_until.isoformat() if option.valid_until else None,
                "applicable": option.applicable,
                "discount": str(option.discount),
                "reason": option.reason,
            }
            for option in found["coupons"]
        ],
        "points": {k: str(v) if not isinstance(v, int) else v for k, v in found["points"].items()},
        "stored_value": {k: str(v) for k, v in found["stored_value"].items()},
    }


@router.post(
    "/loyalty/checkout/redeem", response={201: RedemptionOut}, summary="Use points, a coupon and stored value together"
)
def redeem(request: HttpRequest, payload: RedeemIn) -> Status[dict[str, Any]]:
    require(request, CHECKOUT, "loyalty.redeem_coupon")
    customer = customer_queries.visible_customer(request.user, payload.customer)
    redemption = checkout.redeem(
        customer,
        _cart(payload.cart),
        key=payload.idempotency_key,
        order_reference=payload.order_reference,
        actor=actor_for(request),
        points=payload.points,
        coupon_code=payload.coupon_code,
        stored_value_amount=payload.stored_value,
    )
    return Status(201, redemption_body(redemption))


@router.post(
    "/loyalty/checkout/redemptions/{idempotency_key}/reverse",
    response={200: RedemptionOut},
    summary="Give back what a redemption used",
)
def reverse(request: HttpRequest, idempotency_key: str) -> dict[str, Any]:
    require(request, CHECKOUT, "loyalty.redeem_coupon")
    visible = customer_queries.visible_customers(request.user)
    redemption = Redemption.objects.filter(idempotency_key=idempotency_key, customer__in=visible).first()
    if redemption is None:
        raise NotFound.single("idempotency_key", "not_found", "no redemption with this key")
    return redemption_body(checkout.reverse(redemption, actor=actor_for(request)))
