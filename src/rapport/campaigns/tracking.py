"""Signed links in messages: the open pixel, click redirects and the one-click unsubscribe.

Tokens are Django signatures (HMAC with the secret key and a per-purpose salt), so a link
cannot be forged to record someone else's click, to redirect to an arbitrary site, or to
withdraw another customer's consent. None of them needs the reader to sign in.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN_SALT = "rapport.campaigns.open"
CLICK_SALT = "rapport.campaigns.click"
UNSUBSCRIBE_SALT = "rapport.campaigns.unsubscribe"
LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def _absolute(path: str) -> str:
    return f"{settings.RAPPORT_PUBLIC_URL}{path}"


def open_url(message_id: int) -> str:
    token = signing.dumps(message_id, salt=OPEN_SALT)
    return _absolute(reverse("campaigns:track_open", args=[token]))


def click_url(message_id: int, target: str) -> str:
    token = signing.dumps([message_id, target], salt=CLICK_SALT, compress=True)
    return _absolute(reverse("campaigns:track_click", args=[token]))


def unsubscribe_url(customer_id: int, channel: str) -> str:
    token = signing.dumps([customer_id, channel], salt=UNSUBSCRIBE_SALT)
    return _absolute(reverse("campaigns:unsubscribe", args=[token]))


def read_open(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=OPEN_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def read_click(token: str) -> tuple[int, str] | None:
    try:
        value = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        return None
    if not LINK.fullmatch(value[1]):
        return None
    return value[0], value[1]


def read_unsubscribe(token: str) -> tuple[int, str] | None:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)):
        return None
    return value[0], value[1]


def track_links(text: str, message_id: int, *, skip: frozenset[str] = frozenset()) -> str:
    """Every http(s) link in ``text`` becomes a signed redirect that records the click first."""
    return LINK.sub(
        lambda match: match.group(0) if match.group(0) in skip else click_url(message_id, match.group(0)), text
    )
