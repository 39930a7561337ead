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
# "My order" in the ways a member writes it: a possessive (我的, 我买的, my), the thing (订单, 快递,
# 包裹, parcel …) and what they want to know of it (到哪了, 发货了吗, status, on its way …).
_OWN_ZH = (
    r"(?:我(?:那个|这个|的)?|我[^，,。？?\s]{0,4}?(?:买|下|拍|订)的|帮我(?:看看|查查|查一下|查下)我?的?"
    r"|麻烦(?:帮我)?(?:看看|查查|查一下|查下)我?的?)"
)
_THING = r"(?:订单|快递|包裹|货|东西|单子|单|衣服|外套|鞋子?|裤子|宝贝|order|parcel|package)"
_STATE_ZH = (
    r"(?:到哪|在哪|走到哪|发货|发了|发出|寄出|状态|什么情况|啥情况|单号是多少|什么时候(?:到|发|能到|寄)|还没到|没到"
    r"|到了没|到没到|怎么样|进度|发没发)"
)
_STATE_EN = (
    r"(?:status|update|shipped|coming|sent|dispatched|on (?:its|the) way"
    r"|(?:has ?n[o']?t|not|never|still not) (?:arrived|come|shipped))"
)
_MY_THING_EN = (
    r"(?:\bmy (?:(?:last|latest|recent|new|current) )?(?:order|parcel|package|delivery|stuff)s?(?![a-z])"
    r"|\b(?:the )?(?:thing|stuff|things) i (?:bought|ordered)\b)"
)
ASKS_ABOUT_ORDERS = re.compile(
    rf"{_OWN_ZH}\s*{_THING}[^，,。？?]{{0,8}}(?:{_STATE_ZH}|{_STATE_EN})"
    rf"|我[^，,。？?\s]{{0,4}}(?:买|下|拍|订)的[^，,。？?]{{0,6}}?{_STATE_ZH}"
    r"|(?:订单|快递|包裹)(?:到哪|在哪)(?!查|看)|快递(?:咋|怎么)还没到|订单状态|发货了吗|发货了没|发了没"
    r"|(?:帮我|给我)?(?:看看|查查|查一下|查下)我的订单"
    r"|\b(?:where(?:'s| is| are)?|wheres|status of|track|update on|any news on|happening with|going on with|has|have"
    r"|when(?: will| is)?|did|is|check(?: on)?)\b"
    rf".{{0,20}}{_MY_THING_EN}"
    rf"|{_MY_THING_EN}.{{0,20}}(?:\b{_STATE_EN}\b|{_STATE_ZH})",
    re.IGNORECASE,
)
# Asking how to look something up, how long things take, or about a fault is a question for an
# article, not for the member's orders: "在哪看快递到哪一站了", "how can I track my package", "how many
# days before my order is shipped out", "one item is missing from my package".
NOT_ABOUT_ORDERS = re.compile(
    r"(?:(?:在|去)哪(?:里|儿)?(?:看|查)|怎么(?:看|查)|如何(?:看|查)|少了|坏了|破了"
    r"|\bhow (?:can|do|would|to) i? ?(?:track|check|see|find)\b|\bhow (?:many days|long)\b"
    r"|\b(?:missing|broken|damaged|cancel|change)\b)",
    re.IGNORECASE,
)


def asks_about_orders(question: str) -> bool:
    return bool(ASKS_ABOUT_ORDERS.search(question)) and not NOT_ABOUT_ORDERS.search(question)


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
