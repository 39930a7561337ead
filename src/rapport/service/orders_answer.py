""" "Where is my order?" answered from the signed-in member's own orders (status, carrier, tracking
number), not from an article: an article can only say how to look, the member wants to know."""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from rapport.commerce.models import Order, OrderStatus
from rapport.customers.models import Customer

RECENT_ORDERS = 3
ASKS_ABOUT_ORDERS = re.compile(
    r"(?:我的?|我买的|我下的)(?:订单|快递|包裹|货|东西|单子)[^，,。？?]{0,8}(?:到哪|在哪|发货|发了|寄出|状态|什么时候到|还没到|没到|到了没|到没到|怎么样)"
    r"|(?:订单|快递|包裹|物流)(?:到哪|在哪)了?|订单状态|发货了吗|发货了没|发了没"
    r"|\b(?:where(?:'s| is| are)|status of|track|has|have|when will|did)\b.{0,20}"
    r"\bmy (?:order|parcel|package|delivery)s?\b"
    r"|\bmy (?:order|parcel|package|delivery)s?\b.{0,20}\b(?:status|arrive|arriving|shipped|come|coming|sent)\b",
    re.IGNORECASE,
)


def asks_about_orders(question: str) -> bool:
    return bool(ASKS_ABOUT_ORDERS.search(question))


def _local(moment: object) -> str:
    tz = zoneinfo.ZoneInfo(settings.RAPPORT_SERVICE_TIME_ZONE)
    return moment.astimezone(tz).strftime("%Y-%m-%d")  # type: ignore[attr-defined]


def _line(order: Order) -> str:
    status = OrderStatus(order.status).label
    text = _("Order %(number)s of %(date)s: %(status)s.") % {
        "number": order.external_id,
        "date": _local(order.placed_at),
        "status": status,
    }
    if order.tracking_number or order.carrier:
        text += " " + _("Shipped %(date)s with %(carrier)s, tracking number %(tracking)s.") % {
            "date": _local(order.shipped_at) if order.shipped_at else "",
            "carrier": order.carrier or _("the courier"),
            "tracking": order.tracking_number or "—",
        }
    elif order.status in (OrderStatus.PENDING, OrderStatus.PAID):
        text += " " + _("Not shipped yet.")
    return text


def describe(member: Customer, language: str) -> str | None:
    """The member's latest orders and where they are, in the question's language; None when the
    member has no orders (the knowledge base answers instead)."""
    orders = list(Order.objects.filter(customer=member).order_by("-placed_at", "-id")[:RECENT_ORDERS])
    if not orders:
        return None
    with translation.override("zh-hans" if language == "zh-hans" else "en"):
        lines = [_("Your latest orders:")] + [_line(order) for order in orders]
        return "\n".join(lines)
