"""The address customers reach Rapport at, for the links in what it sends (unsubscribe, tracking, surveys).

``RAPPORT_PUBLIC_URL`` wins when it is set (behind a proxy or a domain name it must be). Without it
the links point at the address ``rapport run`` actually serves, so ``--port 8101`` gives links on
8101, not on the default port.
"""

from __future__ import annotations

import socket

from django.conf import settings

DEFAULT = "http://127.0.0.1:8000"
_WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 (recognised, not bound)
_served_at: str | None = None


def public_url() -> str:
    """The base of every absolute link Rapport writes, without a trailing slash."""
    return settings.RAPPORT_PUBLIC_URL or _served_at or DEFAULT


def served_url(host: str, port: int) -> str:
    """The URL a server listening on ``host:port`` is reached at (a wildcard address by this machine's name)."""
    name = socket.getfqdn() if host in _WILDCARDS else host
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{port}"


def serving_at(url: str | None) -> None:
    """Record (or, with None, forget) the address this process serves; links use it without the setting."""
    global _served_at
    _served_at = url.rstrip("/") if url else None
