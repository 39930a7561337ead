"""The member portal's "For you" page: the member's recommendations with their reasons."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rapport.portal.auth import member_required
from rapport.recommendations import services


@member_required
def for_you(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    context = {"portal_section": "for_you", "suggestions": services.for_customer(member, limit=10)}
    return render(request, "recommendations/portal/for_you.html", context)
