"""Who the member is on a portal request: ``member_required`` sets ``request.member``.

Portal sessions are separate from staff login. A signed-in member holds a random token in the
``rapport_member`` cookie (HttpOnly, SameSite=Lax); the :class:`~rapport.portal.models.MemberSession`
table keeps only its keyed hash, its expiry and when it ended. A staff user signing in or out of
the console does not touch it, and signing out of the portal ends the session on the server.

Use it on every portal view (yours too, if your app adds a portal page)::

    from rapport.portal.auth import member_required

    @member_required
    def inbox(request: HttpRequest) -> HttpResponse:
        customer = request.member  # a rapport.customers.models.Customer
        ...

An anonymous visitor is redirected to the sign-in page with ``?next=`` set to where they were going.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from rapport.core.actor import Actor, Source
from rapport.customers.models import Customer, MemberStatus
from rapport.portal.models import MemberSession

COOKIE_NAME = "rapport_member"
ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])  # streamed answers too


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 under the site secret; ``purpose`` keeps codes, tokens and addresses apart."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"portal:{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def current_member(request: HttpRequest) -> Customer | None:
    """The customer whose live session the request's cookie names, or None."""
    token = request.COOKIES.get(COOKIE_NAME)
    if not token:
        return None
    now = timezone.now()
    session = (
        MemberSession.objects.select_related("customer")
        .filter(token_hash=keyed_hash("session", token), ended_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if session is None or session.customer.member_status == MemberStatus.BLOCKED:
        return None
    if now - session.last_seen_at > timedelta(minutes=5):  # sliding expiry without a write per request
        MemberSession.objects.filter(pk=session.pk).update(
            last_seen_at=now, expires_at=now + timedelta(days=settings.RAPPORT_PORTAL_SESSION_DAYS)
        )
    return session.customer


def member_actor(request: HttpRequest) -> Actor:
    """The signed-in member acting for themselves in the portal (on ``member_required`` views)."""
    return Actor(user=None, source=Source.CUSTOMER, label=f"member #{request.member.pk} (portal)")  # type: ignore[attr-defined]


def member_required(view: ViewFunc) -> ViewFunc:
    """Let signed-in members through with ``request.member`` set; send others to sign in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        member = current_member(request)
        if member is None:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('portal:sign_in')}?{query}")
        request.member = member  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapper)


def start_session(response: HttpResponse, customer: Customer) -> MemberSession:
    """Open a session for ``customer`` and set its cookie on ``response``."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    days = settings.RAPPORT_PORTAL_SESSION_DAYS
    session = MemberSession.objects.create(
        customer=customer,
        token_hash=keyed_hash("session", token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=days),
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return session


def end_session(request: HttpRequest, response: HttpResponse) -> None:
    """Sign out: end the server-side session and drop the cookie."""
    token = request.COOKIES.get(COOKIE_NAME)
    if token:
        MemberSession.objects.filter(token_hash=keyed_hash("session", token), ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
    response.delete_cookie(COOKIE_NAME, samesite="Lax")
