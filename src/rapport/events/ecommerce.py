"""Segment's e-commerce spec events become commerce objects.

``Order Completed`` creates or updates the order and its lines, ``Order Refunded`` records the
refund and ``Order Cancelled`` cancels the order, all through the commerce services; the other
e-commerce events (Product Viewed, Product Added, Checkout Started, …) stay behaviour events
that segments, journeys and :func:`rapport.events.queries.abandoned_carts` read.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from rapport.commerce import services as commerce_services
from rapport.commerce.models import Order, OrderStatus
from rapport.commerce.validation import CatalogueCache
from rapport.core.actor import Actor
from rapport.core.errors import DomainError, FieldError, InvalidInput
from rapport.events.messages import Message
from rapport.events.models import EventType

ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"
CART_EVENTS = ("Product Added", "Cart Viewed", "Checkout Started")
ORDER_EVENTS = (ORDER_COMPLETED, ORDER_REFUNDED, ORDER_CANCELLED)


def is_order_event(kind: str, name: str) -> bool:
    """A track call that creates or changes an order: the resolver applies it, never a request."""
    return kind == EventType.TRACK and name in ORDER_EVENTS


def _order_id(message: Message) -> str:
    value = message.properties.get("order_id") or message.properties.get("orderId")
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidInput.single("properties.order_id", "required", "an order event carries its order_id")
    return str(value).strip()


def _lines(products: Any) -> list[dict[str, Any]]:
    if not isinstance(products, list) or not products:
        raise InvalidInput.single("properties.products", "required", "Order Completed lists its products")
    lines = []
    for index, product in enumerate(products):
        if not isinstance(product, dict):
            raise InvalidInput.single(f"properties.products.{index}", "invalid", "expected an object")
        sku = product.get("sku") or product.get("product_id") or product.get("productId")
        lines.append(
            {
                "sku": str(sku or "").strip(),
                "name": str(product.get("name") or sku or "").strip(),
                "quantity": product.get("quantity", 1),
                "unit_price": product.get("price"),
            }
        )
    return lines


def _order_data(message: Message, channel: str) -> dict[str, Any]:
    p = message.properties
    data: dict[str, Any] = {
        "channel": channel,
        "external_id": _order_id(message),
        "placed_at": message.timestamp,
        "status": OrderStatus.PAID,
        "lines": _lines(p.get("products")),
    }
    if message.customer_id is not None:
        data["customer_id"] = message.customer_id
    for source, target in (("currency", "currency"), ("shipping", "shipping_total"), ("discount", "discount_total")):
        if p.get(source) not in (None, ""):
            data[target] = p[source]
    total = p.get("total", p.get("revenue"))
    if total not in (None, ""):
        data["total"] = total
    if isinstance(p.get("store"), str):
        data["store"] = p["store"]
    return data


def _refund_amount(message: Message, order: Order) -> Decimal:
    p = message.properties
    try:
        if p.get("total") not in (None, ""):
            return Decimal(str(p["total"]))
        if isinstance(p.get("products"), list) and p["products"]:
            return sum(
                (Decimal(str(item.get("price", 0))) * int(item.get("quantity", 1)) for item in p["products"]),
                Decimal("0"),
            )
    except (InvalidOperation, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput.single("properties.total", "invalid", "a refund amount is a number") from exc
    return commerce_services.refundable_amount(order)


def apply_commerce_event(message: Message, *, channel: str, actor: Actor, cache: CatalogueCache) -> list[FieldError]:
    """Apply one e-commerce event; return the reasons it could not be applied (nothing applied)."""
    try:
        with transaction.atomic():
            if message.name == ORDER_COMPLETED:
                commerce_services.upsert_order(data=_order_data(message, channel), actor=actor, cache=cache)
                return []
            order = Order.objects.filter(channel=channel, external_id=_order_id(message)).first()
            if order is None:
                raise InvalidInput.single("properties.order_id", "not_found", f"no order {_order_id(message)!r}")
            if message.name == ORDER_REFUNDED:
                refund_id = str(message.properties.get("refund_id") or message.message_id)
                commerce_services.record_refund(
                    order,
                    external_id=refund_id,
                    amount=_refund_amount(message, order),
                    reason=str(message.properties.get("reason") or "")[:200],
                    refunded_at=message.timestamp,
                    actor=actor,
                )
            elif message.name == ORDER_CANCELLED and order.status != OrderStatus.CANCELLED:
                commerce_services.set_order_status(order, status=OrderStatus.CANCELLED, actor=actor)
    except DomainError as exc:
        return exc.errors
    return []
