"""Sign-in throttling with django-axes: per account and per address, and a page that says when.

After ``AXES_FAILURE_LIMIT`` wrong passwords for one user name, or from one address, further
attempts are refused — the right password too — until ``AXES_COOLOFF_TIME`` has passed since the
last failure. The refusal is the sign-in page itself (429, ``Retry-After``) telling the person
at what time, in their time zone, they can try again.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class ThrottledLoginBackend(AxesStandaloneBackend):
    """Axes' check, for sign-ins that come with a request (the login pages).

    Code that calls ``authenticate()`` without a request (tests, management commands) is not
    a sign-in attempt anyone can repeat from outside; Axes would refuse it outright.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def locked_until(request: HttpRequest, credentials: dict[str, Any] | None) -> dt.datetime:
    """When the lockout that refused this request ends: the cool-off after the latest failure."""
    username = get_client_username(request, credentials) or ""
    address = get_client_ip_address(request) or ""
    latest = (
        AccessAttempt.objects.filter(Q(username=username) | Q(ip_address=address))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    cool_off = get_cool_off(request) or dt.timedelta(0)
    return (latest or timezone.now()) + cool_off


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The sign-in page again, refusing with the time the person can try again (429)."""
    until = locked_until(request, credentials)
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    form = AuthenticationForm(request, initial={"username": get_client_username(request, credentials) or ""})
    context = {"form": form, "locked_until": until, "locked_minutes": minutes, "next": request.GET.get("next", "")}
    response = render(request, "console/login.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
