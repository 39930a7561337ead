"""The store counter (门店收银台): find a member, see their assets, and serve them at the till.

Members belong to the brand, so a clerk finds any member here, by a phone number, its last four
digits, the member code from the portal or an old card number, never by browsing; each look-up
is audited and shows only a masked card. The member found is carried between the counter's
pages in a signed, time-limited visit token, not an id a clerk could change.

Everything the till does goes through the owning domain's services: redemptions through the
checkout (idempotent, all or nothing), sales and returns through commerce (points follow from
the order's receivers), top-ups through stored value, goodwill through the shared role limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.services import staff_store_id
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce import services as commerce
from rapport.commerce.models import Order
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput, NotFound, PermissionDeniedError
from rapport.counter import codes
from rapport.customers import consent
from rapport.customers import services as customer_services
from rapport.customers.models import Channel, ConsentChannel, ConsentPurpose, Customer, Store, identity_index_of
from rapport.loyalty.models import Asset, Coupon, CouponStatus, Redemption
from rapport.loyalty.services import cards, checkout, ledger, levels, stored_value
from rapport.loyalty.services.cart import Cart

VISIT_SALT = "rapport.counter.visit"
VISIT_SECONDS = 8 * 3600  # a shift: a visit token found in a browser history the next day is refused
MAX_MATCHES = 10
STORE_CHANNEL = "store"
MANAGER_PERMISSION = "loyalty.adjust_balance"
SEPARATORS = re.compile(r"[\s\-]+")
LOOKUP_TEXT = re.compile(r"\+?[A-Za-z0-9]{1,40}")  # digits and card numbers, never a name


@dataclass(frozen=True)
class MemberCard:
    """What the counter shows of a member found: masked, and only what the till needs."""

    token: str
    name: str
    phone: str
    level: str
    points: Decimal
    stored_value: Decimal
    coupons: int


def visit_token(customer_id: int) -> str:
    return signing.dumps(customer_id, salt=VISIT_SALT, compress=True)


def visited_customer(token: str) -> Customer:
    """The member a visit token names; NotFound when it is forged or older than a shift."""
    try:
        customer_id = signing.loads(token, salt=VISIT_SALT, max_age=VISIT_SECONDS)
    except signing.BadSignature as exc:
        raise NotFound.single("visit", "expired", _("Look the member up again.")) from exc
    return customer_services.get_customer(Customer.objects.select_related("store"), int(customer_id))


def _matching(text: str) -> tuple[str, list[Customer]]:
    """How the text was read (phone, phone tail, card) and the members it finds."""
    cards = [identity_index_of(channel, text) for channel in settings.RAPPORT_MEMBER_CARD_CHANNELS]
    condition = Q(identities__external_index__in=cards)
    how = "card"
    tail = pii.search_index_for_phone_tail(text) if len(text) == 4 else None
    phone = pii.search_index_for_phone(text)
    if tail:
        condition, how = Q(phone_tail_index=tail), "phone_tail"
    elif phone:
        condition, how = condition | Q(phone_index=phone), "phone"
    found = Customer.objects.filter(condition).select_related("store").distinct().order_by("pk")[:MAX_MATCHES]
    return how, list(found)


def find_members(text: str, *, actor: Actor) -> list[MemberCard]:
    """Members matching a phone, its last four digits, a member code or a card number; audited."""
    cleaned = SEPARATORS.sub("", text or "")
    if not cleaned:
        raise InvalidInput.single("q", "required", _("Enter a phone number, its last four digits or a member code."))
    if not LOOKUP_TEXT.fullmatch(cleaned):
        raise InvalidInput.single("q", "invalid", _("Enter a phone number, its last four digits or a member code."))
    if codes.looks_like_code(cleaned):
        how, found = "member_code", [codes.accept(cleaned, actor=actor)]
    else:
        how, found = _matching(cleaned)
    for customer in found:
        record(actor, AuditEntry.Action.REVEAL, obj=customer, changes={"counter_lookup": how, "fields": ["masked"]})
    return [member_card(customer) for customer in found]


def member_card(customer: Customer) -> MemberCard:
    level = levels.progress(customer.pk)["level"]
    return MemberCard(
        token=visit_token(customer.pk),
        name=pii.mask_text(customer.name, keep_start=1),
        phone=pii.mask_phone(customer.phone),
        level=str(level) if level else "",
        points=ledger.balances(customer.pk).get(Asset.POINTS, Decimal(0)),
        stored_value=stored_value.balance(customer.pk)["total"],
        coupons=Coupon.objects.filter(customer=customer, status=CouponStatus.ISSUED).count(),
    )


def member_overview(customer: Customer) -> dict[str, Any]:
    """The at-a-glance view: card, usable coupons, active benefit cards, recent till activity."""
    return {
        "card": member_card(customer),
        "wallet": stored_value.balance(customer.pk),
        "coupons": list(
            Coupon.objects.filter(customer=customer, status=CouponStatus.ISSUED)
            .select_related("template")
            .order_by("valid_until", "pk")[:30]
        ),
        "benefit_cards": list(cards.active_cards(customer.pk)),
        "perks": checkout.member_perks(customer.pk),
        "redemptions": list(Redemption.objects.filter(customer=customer).select_related("coupon")[:5]),
        "store_orders": list(Order.objects.filter(customer=customer, channel=STORE_CHANNEL).order_by("-placed_at")[:5]),
    }


def clerk_store(actor: Actor) -> Store | None:
    store_id = staff_store_id(actor.staff_user)
    return Store.objects.filter(pk=store_id).first() if store_id else None


def _receipt(raw: object) -> str:
    text = str(raw or "").strip()
    if not text or len(text) > 100:
        raise InvalidInput.single("receipt", "required", _("Enter the till receipt number (up to 100 characters)."))
    return text


@transaction.atomic
def redeem(
    customer: Customer,
    *,
    receipt: object,
    total: object,
    key: str,
    actor: Actor,
    coupon_code: str = "",
    points: int = 0,
    stored_value_amount: Decimal = Decimal(0),
) -> Redemption:
    """Write off (核销) a coupon, points and stored value against a store order, once per key."""
    amount = stored_value.money(total, "total")
    store = clerk_store(actor)
    redemption = checkout.redeem(
        customer,
        Cart(total=amount, store_id=store.pk if store else None),
        key=f"counter:{key}",
        order_reference=f"{STORE_CHANNEL}:{_receipt(receipt)}",
        actor=actor,
        points=points,
        coupon_code=coupon_code,
        stored_value_amount=stored_value_amount,
    )
    if not AuditEntry.objects.filter(object_type="loyalty.redemption", object_id=str(redemption.pk)).exists():
        record(
            actor,
            AuditEntry.Action.CREATE,
            obj=redemption,
            changes={
                "counter": store.code if store else "",
                "coupon": coupon_code,
                "points": points,
                "stored_value": str(stored_value_amount),
                "amount_due": str(redemption.amount_due),
            },
        )
    return redemption


@transaction.atomic
def reverse_redemption(customer: Customer, redemption_id: int, *, actor: Actor) -> Redemption:
    """A manager gives back what a till redemption used (a mistake at the counter)."""
    user = actor.staff_user
    if user is None or not user.has_perm(MANAGER_PERMISSION):
        raise PermissionDeniedError.single("redemption", "manager_only", _("Only a manager can reverse a redemption."))
    redemption = Redemption.objects.filter(customer=customer, pk=redemption_id).first()
    if redemption is None:
        raise NotFound.single("redemption", "not_found", _("No such redemption for this member."))
    reversed_ = checkout.reverse(redemption, actor=actor)
    record(actor, AuditEntry.Action.UPDATE, obj=reversed_, changes={"status": ["redeemed", "reversed"]})
    return reversed_


def record_sale(customer: Customer, *, receipt: object, total: object, actor: Actor) -> Order:
    """A paid store order for the member; its points come from loyalty's order receivers."""
    amount = stored_value.money(total, "total")
    store = clerk_store(actor)
    data: dict[str, Any] = {
        "channel": STORE_CHANNEL,
        "external_id": _receipt(receipt),
        "customer_id": customer.pk,
        "status": "paid",
        "total": str(amount),
        # the till keeps the basket; the CRM gets one line for the amount paid
        "lines": [{"sku": "STORE-SALE", "name": "Store sale", "quantity": 1, "unit_price": str(amount)}],
        "placed_at": timezone.now().isoformat(),
    }
    if store is not None:
        data["store"] = store.code
    order, _created = commerce.upsert_order(data=data, actor=actor)
    return order


def take_return(customer: Customer, *, order_id: int, amount: object, key: str, actor: Actor) -> Order:
    """Refund (part of) a store order at the till: points, coupons and stored value follow the refund."""
    order = Order.objects.filter(pk=order_id, customer=customer, channel=STORE_CHANNEL).first()
    if order is None:
        raise NotFound.single("order", "not_found", _("No such store order for this member."))
    commerce.record_refund(order, external_id=f"till-{key}", amount=amount, actor=actor, reason="returned at the till")
    order.refresh_from_db()
    return order


def top_up(customer: Customer, *, amount: object, key: str, actor: Actor) -> stored_value.Movement:
    """Stored value paid at the till, with the top-up bonus (充值送) of the tier it reaches."""
    return stored_value.top_up(customer, amount=amount, key=f"counter:{key}", actor=actor, reference="counter")


@transaction.atomic
def enrol(
    *, name: object, phone: object, agreed: bool, marketing: bool, actor: Actor
) -> tuple[Customer, list[MemberCard]]:
    """A new member signed up at the counter with their consent; their store is the clerk's, and the
    clerk is recorded as the one who recruited them."""
    if not agreed:
        raise InvalidInput.single("agreed", "required", _("The customer must agree to the membership terms."))
    store = clerk_store(actor)
    data: dict[str, Any] = {
        "name": str(name or "").strip(),
        "phone": str(phone or "").strip(),
        "member_status": "member",
        "registration_channel": Channel.STORE,
        "registered_at": timezone.now().isoformat(),
    }
    if store is not None:
        data["store"] = store.pk
    if not data["phone"]:
        raise InvalidInput.single("phone", "required", _("A member needs a phone number."))
    customer = customer_services.create_customer(data=data, actor=actor, recruited_by=actor.staff_user)
    consent.set_consents(
        customer,
        [{"channel": ConsentChannel.SMS, "purpose": ConsentPurpose.MARKETING, "granted": marketing}],
        actor=actor,
        evidence="enrolled at the store counter",
    )
    return customer, [member_card(customer)]
