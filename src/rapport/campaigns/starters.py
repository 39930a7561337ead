"""The template library: starter emails in English and Simplified Chinese that an operator copies
and adapts (welcome, birthday, win-back, new arrivals with recommendations, coupon).

A starter is not a stored template: choosing one fills a new template's editor, and nothing is
saved until the operator saves it under a name of their own. Starters are written in their own
language (not translated), as a shop in 上海 sends Chinese whatever the console's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

SHOP_URL = "https://shop.example.com/"
# What each starter is for, in the console's language (the starter itself is in its own).
PURPOSES = {
    "welcome": _("Welcome a new member"),
    "birthday": _("Birthday greeting with a coupon"),
    "winback": _("Win back a lapsed customer"),
    "new-arrivals": _("New arrivals with recommendations"),
    "coupon": _("Send a coupon"),
}


@dataclass(frozen=True)
class Starter:
    key: str
    language: str  # "en" or "zh-hans"
    name: str
    subject: str
    blocks: tuple[dict[str, Any], ...]

    @property
    def purpose(self) -> str:
        return str(PURPOSES[self.key.rsplit("-", 1)[0]])

    def blocks_for(self, coupon_template: int | None) -> list[dict[str, Any]]:
        """The blocks, a coupon block pointing at ``coupon_template`` (the operator may change it)."""
        return [
            {**block, "template": coupon_template} if block["type"] == "coupon" else dict(block)
            for block in self.blocks
        ]


def _footer(text: str, label: str) -> dict[str, Any]:
    return {"type": "footer", "text": text, "unsubscribe_label": label}


EN_FOOTER = _footer("You receive this email as a member of our shop.", "Unsubscribe")
ZH_FOOTER = _footer("您收到这封邮件，是因为您是本店会员。", "退订")

STARTERS: tuple[Starter, ...] = (
    Starter(
        "welcome-en",
        "en",
        "Welcome",
        "Welcome, {{first_name}}",
        (
            {"type": "heading", "text": "Welcome, {{first_name}}!"},
            {"type": "text", "text": "Thank you for joining. As a {{level}} member you collect points on every order."},
            {"type": "button", "label": "Start shopping", "url": SHOP_URL},
            EN_FOOTER,
        ),
    ),
    Starter(
        "welcome-zh",
        "zh-hans",
        "欢迎入会",
        "{{name}}，欢迎加入",
        (
            {"type": "heading", "text": "{{name}}，欢迎加入！"},
            {"type": "text", "text": "感谢您成为{{level}}会员，每笔订单都能累积积分。"},
            {"type": "button", "label": "开始选购", "url": SHOP_URL},
            ZH_FOOTER,
        ),
    ),
    Starter(
        "birthday-en",
        "en",
        "Birthday",
        "Happy birthday, {{first_name}}",
        (
            {"type": "heading", "text": "Happy birthday, {{first_name}}!"},
            {
                "type": "text",
                "text": "A little gift from us: enjoy it this month. You have {{points}} points to spend too.",
            },
            {"type": "coupon", "title": "Your birthday gift"},
            {"type": "button", "label": "Treat yourself", "url": SHOP_URL},
            EN_FOOTER,
        ),
    ),
    Starter(
        "birthday-zh",
        "zh-hans",
        "生日祝福",
        "{{name}}，生日快乐",
        (
            {"type": "heading", "text": "{{name}}，生日快乐！"},
            {"type": "text", "text": "送您一份生日礼，本月有效。您还有 {{points}} 积分可用。"},
            {"type": "coupon", "title": "您的生日礼券"},
            {"type": "button", "label": "去看看", "url": SHOP_URL},
            ZH_FOOTER,
        ),
    ),
    Starter(
        "winback-en",
        "en",
        "We miss you",
        "We miss you, {{first_name}}",
        (
            {"type": "heading", "text": "It has been a while, {{first_name}}"},
            {"type": "text", "text": "Here is something to welcome you back."},
            {"type": "coupon", "title": "Welcome back"},
            {"type": "recommendations", "title": "Picked for you", "count": 3, "show_reasons": True},
            EN_FOOTER,
        ),
    ),
    Starter(
        "winback-zh",
        "zh-hans",
        "好久不见",
        "{{name}}，好久不见",
        (
            {"type": "heading", "text": "{{name}}，好久不见"},
            {"type": "text", "text": "为您准备了一份回归礼。"},
            {"type": "coupon", "title": "回归礼券"},
            {"type": "recommendations", "title": "为您精选", "count": 3, "show_reasons": True},
            ZH_FOOTER,
        ),
    ),
    Starter(
        "new-arrivals-en",
        "en",
        "New arrivals",
        "New in, picked for you",
        (
            {"type": "heading", "text": "New in this week"},
            {"type": "text", "text": "Hi {{first_name}}, these just arrived and we think you will like them."},
            {"type": "recommendations", "title": "Recommended for you", "count": 4, "show_reasons": True},
            {"type": "button", "label": "See all new arrivals", "url": SHOP_URL},
            EN_FOOTER,
        ),
    ),
    Starter(
        "new-arrivals-zh",
        "zh-hans",
        "新品上架",
        "新品上架，为您推荐",
        (
            {"type": "heading", "text": "本周新品"},
            {"type": "text", "text": "{{name}}，您好！新品刚刚到店，这些可能是您喜欢的。"},
            {"type": "recommendations", "title": "猜你喜欢", "count": 4, "show_reasons": True},
            {"type": "button", "label": "查看全部新品", "url": SHOP_URL},
            ZH_FOOTER,
        ),
    ),
    Starter(
        "coupon-en",
        "en",
        "Coupon",
        "A coupon for you, {{first_name}}",
        (
            {"type": "heading", "text": "A coupon just for you"},
            {"type": "coupon", "title": ""},
            {"type": "text", "text": "Show the code at the till or enter it at checkout."},
            {"type": "button", "label": "Use it now", "url": SHOP_URL},
            EN_FOOTER,
        ),
    ),
    Starter(
        "coupon-zh",
        "zh-hans",
        "优惠券",
        "{{name}}，送您一张优惠券",
        (
            {"type": "heading", "text": "专属优惠券已到账"},
            {"type": "coupon", "title": ""},
            {"type": "text", "text": "结账时出示券码或在线输入即可使用。"},
            {"type": "button", "label": "立即使用", "url": SHOP_URL},
            ZH_FOOTER,
        ),
    ),
)

BY_KEY = {starter.key: starter for starter in STARTERS}
