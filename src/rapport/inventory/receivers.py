"""Live orders, cancellations and refunds move stock (history imports send no signals, so move none);
tracked ``Back In Stock Requested`` events subscribe the customer."""

from __future__ import annotations

from typing import Any

from rapport.commerce.models import Order, Refund
from rapport.commerce.signals import order_saved, refund_recorded
from rapport.core.actor import Actor
from rapport.events.signals import events_recorded
from rapport.inventory import services

ACTOR = Actor.system("inventory")


def order_changed(sender: Any, order: Order, **kwargs: Any) -> None:
    services.sync_order(order, actor=ACTOR)


def refund_made(sender: Any, refund: Refund, **kwargs: Any) -> None:
    services.sync_order(refund.order, actor=ACTOR)


def events_arrived(sender: Any, source: Any, messages: list[Any], **kwargs: Any) -> None:
    services.subscribe_from_events(messages)


def connect() -> None:
    order_saved.connect(order_changed, dispatch_uid="inventory.order_saved")
    refund_recorded.connect(refund_made, dispatch_uid="inventory.refund_recorded")
    events_recorded.connect(events_arrived, dispatch_uid="inventory.events_recorded")
