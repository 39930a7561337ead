"""Member portal pages: sign-in with a one-time code, sign-out, and the member's home.

Views translate between HTTP and :mod:`rapport.portal.services`; pages of other domains add
themselves through :mod:`rapport.portal.sections`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import InvalidInput
from rapport.portal import services
from rapport.portal.auth import current_member, end_session, start_session
from rapport.portal.forms import CodeForm, SignInForm

CHALLENGE_SALT = "rapport.portal.challenge"


def _safe_next(request: HttpRequest, raw: str | None) -> str:
    if raw and url_has_allowed_host_and_scheme(raw, {request.get_host()}, require_https=request.is_secure()):
        return raw
    return reverse("portal:home")


def _add_errors(form: SignInForm | CodeForm, exc: InvalidInput) -> None:
    for error in exc.errors:
        form.add_error(error.field if error.field in form.fields else None, error.message)


def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if current_member(request) is not None:
        return HttpResponseRedirect(next_url)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client_ip = request.META.get("REMOTE_ADDR")
            challenge = services.request_code(form.cleaned_data["identifier"], client_ip=client_ip)
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            token = signing.dumps(challenge.pk, salt=CHALLENGE_SALT)
            return redirect(f"{reverse('portal:verify')}?{urlencode({'challenge': token, 'next': next_url})}")
    return render(request, "portal/sign_in.html", {"form": form, "next": next_url})


def verify(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = CodeForm(request.POST or None, initial={"challenge": request.GET.get("challenge", "")})
    if request.method == "POST" and form.is_valid():
        try:
            challenge_id = signing.loads(form.cleaned_data["challenge"], salt=CHALLENGE_SALT, max_age=3600)
            member = services.verify_code(int(challenge_id), form.cleaned_data["code"])
        except signing.BadSignature:
            form.add_error(None, _("This sign-in link is no longer valid. Ask for a new code."))
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            response = HttpResponseRedirect(next_url)
            start_session(response, member)
            return response
    return render(request, "portal/verify.html", {"form": form, "next": next_url})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    response = redirect("portal:sign_in")
    end_session(request, response)
    messages.info(request, _("You are signed out."))
    return response
