"""Signed links in messages: the open pixel, click redirects and the one-click unsubscribe;
and the signed per-message token of a campaign email's bounce address and Message-ID.

Tokens carry their value and a truncated HMAC-SHA256 under a key derived from the secret key and
a per-purpose salt (microseconds per message, where ``django.core.signing`` costs far more at
100,000 messages), so a link cannot be forged to record someone else's click, to redirect to an arbitrary site, or to
withdraw another customer's consent. None of them needs the reader to sign in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from functools import lru_cache

from django.conf import settings
from django.urls import reverse

from rapport.core.public_url import public_url

OPEN_SALT = "rapport.campaigns.open"
CLICK_SALT = "rapport.campaigns.click"
UNSUBSCRIBE_SALT = "rapport.campaigns.unsubscribe"
BOUNCE_SALT = "rapport.campaigns.bounce"
# <message id>-<20 hex digits>: lower case only, since mail servers may fold an address's case.
BOUNCE_TOKEN = re.compile(r"(\d{1,19})-([0-9a-f]{20})")
LINK = re.compile(r"https?://[^\s<>\"')\]]+")
HREF = re.compile(r'href="(https?://[^"]+)"')
PLACEHOLDER = "TOKEN"


@lru_cache(maxsize=8)
def _key(salt: str, secret: str) -> bytes:
    return hashlib.sha256(f"{salt}:{secret}".encode()).digest()


def _sign(salt: str, value: str) -> str:
    """A short HMAC-SHA256 of ``value`` (96 bits: unguessable, and short enough for an SMS link)."""
    digest = hmac.new(_key(salt, settings.SECRET_KEY), value.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode()


def _valid(salt: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(_sign(salt, value), signature)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


@lru_cache(maxsize=8)
def _path(name: str) -> str:
    """The route's path with a placeholder token: reversing once, not once per message."""
    return reverse(name, args=[PLACEHOLDER])


def _url(name: str, token: str) -> str:
    return f"{public_url()}{_path(name).replace(PLACEHOLDER, token)}"


def open_url(message_id: int) -> str:
    value = str(message_id)
    return _url("campaigns:track_open", f"{value}.{_sign(OPEN_SALT, value)}")


def click_url(message_id: int, target: str) -> str:
    value = f"{message_id}.{_b64(target)}"
    return _url("campaigns:track_click", f"{value}.{_sign(CLICK_SALT, value)}")


def unsubscribe_url(customer_id: int, channel: str) -> str:
    value = f"{customer_id}.{channel}"
    return _url("campaigns:unsubscribe", f"{value}.{_sign(UNSUBSCRIBE_SALT, value)}")


def read_open(token: str) -> int | None:
    value, _, signature = token.rpartition(".")
    return int(value) if value.isdigit() and _valid(OPEN_SALT, value, signature) else None


def read_click(token: str) -> tuple[int, str] | None:
    value, _, signature = token.rpartition(".")
    message_id, _, encoded = value.partition(".")
    if not (message_id.isdigit() and _valid(CLICK_SALT, value, signature)):
        return None
    target = _unb64(encoded)
    return (int(message_id), target) if target is not None and LINK.fullmatch(target) else None


def read_unsubscribe(token: str) -> tuple[int, str] | None:
    value, _, signature = token.rpartition(".")
    customer_id, _, channel = value.partition(".")
    if not (customer_id.isdigit() and channel and _valid(UNSUBSCRIBE_SALT, value, signature)):
        return None
    return int(customer_id), channel


def track_links(text: str, message_id: int, *, skip: frozenset[str] = frozenset()) -> str:
    """Every http(s) link in ``text`` becomes a signed redirect that records the click first."""
    return LINK.sub(lambda m: m.group(0) if m.group(0) in skip else click_url(message_id, m.group(0)), text)


def track_html_links(markup: str, message_id: int, *, skip: frozenset[str] = frozenset()) -> str:
    """Every http(s) ``href`` in an HTML part becomes a signed redirect that records the click first."""

    def swap(match: re.Match[str]) -> str:
        target = html.unescape(match.group(1))
        return match.group(0) if target in skip else f'href="{click_url(message_id, target)}"'

    return HREF.sub(swap, markup)


def _bounce_signature(message_id: int) -> str:
    return hmac.new(_key(BOUNCE_SALT, settings.SECRET_KEY), str(message_id).encode(), hashlib.sha256).hexdigest()[:20]


def bounce_token(message_id: int) -> str:
    """``<id>-<signature>``: what a campaign email's return path and Message-ID carry."""
    return f"{message_id}-{_bounce_signature(message_id)}"


def read_bounce_token(token: str) -> int | None:
    """The message id a bounce token names, or None when it is not one we signed."""
    match = BOUNCE_TOKEN.fullmatch(token.lower())
    if match is None:
        return None
    message_id = int(match.group(1))
    return message_id if hmac.compare_digest(_bounce_signature(message_id), match.group(2)) else None
