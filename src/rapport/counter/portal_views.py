"""The member's code in the portal: a barcode and a QR code of a short numeric code that rotates.

The page shows one code and when it runs out; ``counter/member_code.js`` fetches a fresh one
(the ``fresh`` fragment) before that, so the screen always shows a code the counter accepts.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from rapport.counter import codes
from rapport.portal.auth import member_required


@never_cache
@member_required
def member_code(request: HttpRequest) -> HttpResponse:
    issued = codes.issue(request.member)  # type: ignore[attr-defined]
    return render(request, "counter/member_code.html", {"portal_section": "member_code", "issued": issued})


@never_cache
@member_required
def fresh_code(request: HttpRequest) -> HttpResponse:
    issued = codes.issue(request.member)  # type: ignore[attr-defined]
    return render(request, "counter/includes/member_code_card.html", {"issued": issued})
