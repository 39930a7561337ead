"""Orders, refunds and events from every path (API, import, tracking, console) earn and reverse.

Receivers run inside the writer's transaction, so points and the order commit or roll back
together, and a retried import earns nothing twice (every entry has an idempotency key).
"""

from __future__ import annotations

from typing import Any

from rapport.commerce.models import Order, OrderStatus, Refund
from rapport.commerce.signals import order_saved, refund_recorded
from rapport.core.actor import Actor
from rapport.events.signals import events_recorded
from rapport.loyalty.services import checkout, levels, points

ACTOR = Actor.system("loyalty")


def order_changed(sender: Any, order: Order, created: bool, previous_status: str, **kwargs: Any) -> None:
    points.on_order_saved(order, previous_status, actor=ACTOR)
    if order.status == OrderStatus.CANCELLED and previous_status != OrderStatus.CANCELLED:
        checkout.reverse_for_order(order, refunded=False, actor=ACTOR)
    if order.customer_id is not None:
        levels.refresh(order.customer_id, actor=ACTOR)


def refund_made(sender: Any, refund: Refund, **kwargs: Any) -> None:
    order = refund.order
    points.reverse_for_refund(refund, actor=ACTOR)
    if order.status == OrderStatus.REFUNDED:
        checkout.reverse_for_order(order, refunded=True, actor=ACTOR)
    else:
        checkout.reverse_promotions_for_refund(refund, actor=ACTOR)
    if order.customer_id is not None:
        levels.refresh(order.customer_id, actor=ACTOR)


def events_arrived(sender: Any, source: Any, messages: list[Any], **kwargs: Any) -> None:
    points.earn_for_events(messages, actor=ACTOR)


def connect() -> None:
    order_saved.connect(order_changed, dispatch_uid="loyalty.order_saved")
    refund_recorded.connect(refund_made, dispatch_uid="loyalty.refund_recorded")
    events_recorded.connect(events_arrived, dispatch_uid="loyalty.events_recorded")
