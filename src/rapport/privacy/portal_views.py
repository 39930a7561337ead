"""The member portal's "My data" page: ask for a copy, cancel the account (注销), fetch the copy.

A member signed in to the portal has proved they hold the phone or email on file, so their
requests are verified on receipt and fulfilled at once, each by a background job: the account
erased (the member signed out at once), or the copy built (the page lists it with its link once
ready).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, NotFound
from rapport.customers.models import Customer
from rapport.portal.auth import end_session, member_actor, member_required
from rapport.privacy import services
from rapport.privacy.models import DataSubjectRequest, RequestKind, RequestSource, RequestStatus


def _member(request: HttpRequest) -> Customer:
    return request.member  # type: ignore[attr-defined]


@member_required
def home(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    requests = list(DataSubjectRequest.objects.filter(customer=member).order_by("-received_at")[:20])
    links = {
        r.pk: services.archive_url(r)
        for r in requests
        if r.kind == RequestKind.ACCESS and r.status == RequestStatus.COMPLETED and r.has_archive
    }
    rows = [(r, links.get(r.pk, "")) for r in requests]
    return render(request, "privacy/portal.html", {"portal_section": "privacy", "rows": rows})


def _receive_and_fulfil(request: HttpRequest, kind: str) -> DataSubjectRequest | None:
    try:
        received = services.receive_request(
            customer=_member(request), kind=kind, source=RequestSource.PORTAL, actor=member_actor(request)
        )
        return services.fulfil_request(received, actor=member_actor(request))
    except DomainError as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return None


@member_required
@require_POST
def ask_for_copy(request: HttpRequest) -> HttpResponse:
    if _receive_and_fulfil(request, RequestKind.ACCESS) is not None:
        messages.success(
            request,
            _("We are preparing your copy: refresh this page in a minute. Its link works for you only, for days."),
        )
    return redirect("privacy_portal:home")


@member_required
@require_POST
def cancel_account(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "cancel":
        messages.error(request, _("Tick the box to confirm that you want your account cancelled."))
        return redirect("privacy_portal:home")
    if _receive_and_fulfil(request, RequestKind.ERASURE) is None:
        return redirect("privacy_portal:home")
    request.member = None  # type: ignore[attr-defined]  # signed out: the page names no one
    response = render(request, "privacy/portal_cancelled.html", {})
    end_session(request, response)  # now, not when the erasure job deletes the sessions
    return response


@member_required
def archive(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        subject, data = services.open_archive(token, member=_member(request), actor=member_actor(request))
    except NotFound as exc:
        raise Http404(exc.errors[0].message) from exc
    response = StreamingHttpResponse(data, content_type="application/zip")  # decrypted chunk by chunk
    response["Content-Disposition"] = f'attachment; filename="my-data-{subject.pk}.zip"'
    response["Cache-Control"] = "no-store"
    return response
