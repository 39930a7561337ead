"""``/api/v1/counter``: what a till (POS) asks: accept a member code, phone (tail) or card number,
and write off a coupon, points or stored value for the member found, exactly as the counter page.

The look-up answers masked cards, each with a ``visit`` token (valid for a shift) that the till
sends back with the redemption, so a till cannot redeem for a member nobody looked up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import CHECKOUT, MEMBER_CODES
from rapport.core.api import Strict, actor_for, require
from rapport.counter import services
from rapport.counter.responses import LookupOut
from rapport.counter.views import COUNTER_PERMISSION
from rapport.loyalty.api import redemption_body
from rapport.loyalty.responses import RedemptionOut

router = Router(tags=["counter"])


class LookupIn(Strict):
    q: str = Field(min_length=1, max_length=40, description="phone, its last 4 digits, member code or card number")


class RedeemIn(Strict):
    visit: str = Field(min_length=1, max_length=300, description="the visit token the look-up gave")
    receipt: str = Field(min_length=1, max_length=100)
    total: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    coupon_code: str = Field("", max_length=32)
    points: int = Field(0, ge=0, le=100_000_000)
    stored_value: Decimal = Field(Decimal(0), ge=0, max_digits=12, decimal_places=2)
    idempotency_key: str = Field(min_length=1, max_length=120)


class VisitIn(Strict):
    visit: str = Field(min_length=1, max_length=300)


def card_body(card: services.MemberCard) -> dict[str, Any]:
    return {
        "visit": card.token,
        "name": card.name,
        "phone": card.phone,
        "level": card.level,
        "points": str(card.points),
        "stored_value": str(card.stored_value),
        "coupons": card.coupons,
    }


@router.post(
    "/counter/lookup",
    response={200: LookupOut},
    summary="Find members by member code, phone, last 4 digits or card number",
)
def lookup(request: HttpRequest, payload: LookupIn) -> dict[str, Any]:
    require(request, MEMBER_CODES, COUNTER_PERMISSION)
    found = services.find_members(payload.q, actor=actor_for(request))
    return {"members": [card_body(card) for card in found]}


@router.post(
    "/counter/redeem", response={201: RedemptionOut}, summary="Write off a coupon, points or stored value at a till"
)
def redeem(request: HttpRequest, payload: RedeemIn) -> Status[dict[str, Any]]:
    require(request, CHECKOUT, COUNTER_PERMISSION, "loyalty.redeem_coupon")
    customer = services.visited_customer(payload.visit)
    redemption = services.redeem(
        customer,
        receipt=payload.receipt,
        total=payload.total,
        key=payload.idempotency_key,
        actor=actor_for(request),
        coupon_code=payload.coupon_code,
        points=payload.points,
        stored_value_amount=payload.stored_value,
    )
    return Status(201, redemption_body(redemption))


@router.post(
    "/counter/redemptions/{redemption_id}/reverse",
    response={200: RedemptionOut},
    summary="A manager reverses a till redemption",
)
def reverse(request: HttpRequest, redemption_id: int, payload: VisitIn) -> dict[str, Any]:
    require(request, CHECKOUT, COUNTER_PERMISSION)
    customer = services.visited_customer(payload.visit)
    return redemption_body(services.reverse_redemption(customer, redemption_id, actor=actor_for(request)))
