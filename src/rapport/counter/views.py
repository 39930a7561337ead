"""The counter's pages: look-up, the member at the till with its actions, enrolment, and the
installable web app's manifest, service worker and offline page. Thin: each action calls one
service and comes back to the member with a message."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, InvalidInput
from rapport.core.requests import console_actor, error_text
from rapport.counter import services
from rapport.customers.models import Customer
from rapport.loyalty.models import CouponTemplate
from rapport.loyalty.services import goodwill

COUNTER_PERMISSION = "counter.use_counter"


def counter_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff allowed at the counter; a refusal is a 403 page, never a 500."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(COUNTER_PERMISSION):
            return render(request, "counter/forbidden.html", {"nav": "counter"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


@counter_view
def home(request: HttpRequest) -> HttpResponse:
    """The look-up is a POST: a phone number never lands in an address, a history or an access log."""
    query = request.POST.get("q", "") if request.method == "POST" else ""
    found: list[services.MemberCard] = []
    error = ""
    if query.strip():
        try:
            found = services.find_members(query, actor=console_actor(request))
        except DomainError as exc:
            error = error_text(exc)
        else:
            if len(found) == 1:
                return redirect("counter:member", token=found[0].token)
    return render(request, "counter/home.html", {"nav": "counter", "query": query, "found": found, "error": error})


def _money(raw: object, field: str) -> Decimal:
    text = str(raw or "0").strip() or "0"
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput.single(field, "invalid", _("Enter an amount of money.")) from exc
    if not value.is_finite() or value < 0:
        raise InvalidInput.single(field, "invalid", _("Enter an amount of money."))
    return value


def _whole(raw: object, field: str) -> int:
    text = str(raw or "0").strip() or "0"
    if not text.isdigit():
        raise InvalidInput.single(field, "invalid", _("Enter a whole number of points."))
    return int(text)


@counter_view
def member(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer = services.visited_customer(token)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("counter:home")
    context = {
        "nav": "counter",
        "token": token,
        "customer": customer,
        "key": uuid.uuid4().hex,
        "templates": goodwill.goodwill_templates() if request.user.has_perm("loyalty.give_goodwill") else [],
        "is_manager": request.user.has_perm(services.MANAGER_PERMISSION),
        **services.member_overview(customer),
    }
    return render(request, "counter/member.html", context)


def _act(request: HttpRequest, token: str, action: Callable[[Customer], str]) -> HttpResponse:
    """Run one till action for the visited member; its message (or the refusal) on the member page."""
    try:
        customer = services.visited_customer(token)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("counter:home")
    try:
        messages.success(request, action(customer))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("counter:member", token=token)


@require_POST
@counter_view
def redeem(request: HttpRequest, token: str) -> HttpResponse:
    post = request.POST

    def run(customer: Customer) -> str:
        redemption = services.redeem(
            customer,
            receipt=post.get("receipt"),
            total=post.get("total"),
            key=post.get("key", ""),
            actor=console_actor(request),
            coupon_code=post.get("coupon", ""),
            points=_whole(post.get("points"), "points"),
            stored_value_amount=_money(post.get("stored_value"), "stored_value"),
        )
        return _("Redeemed. Left to pay: %(due)s") % {"due": redemption.amount_due}

    return _act(request, token, run)


@require_POST
@counter_view
def reverse_redemption(request: HttpRequest, token: str, redemption_id: int) -> HttpResponse:
    def run(customer: Customer) -> str:
        services.reverse_redemption(customer, redemption_id, actor=console_actor(request))
        return _("The redemption is reversed: everything it used is back with the member.")

    return _act(request, token, run)


@require_POST
@counter_view
def sale(request: HttpRequest, token: str) -> HttpResponse:
    def run(customer: Customer) -> str:
        order = services.record_sale(
            customer, receipt=request.POST.get("receipt"), total=request.POST.get("total"), actor=console_actor(request)
        )
        return _("Sale %(receipt)s recorded; its points are on the member's account.") % {"receipt": order.external_id}

    return _act(request, token, run)


@require_POST
@counter_view
def take_return(request: HttpRequest, token: str) -> HttpResponse:
    def run(customer: Customer) -> str:
        services.take_return(
            customer,
            order_id=_whole(request.POST.get("order"), "order"),
            amount=request.POST.get("amount"),
            key=request.POST.get("key", ""),
            actor=console_actor(request),
        )
        return _("Return recorded: points, coupons and stored value follow the refund.")

    return _act(request, token, run)


@require_POST
@counter_view
def top_up(request: HttpRequest, token: str) -> HttpResponse:
    def run(customer: Customer) -> str:
        movement = services.top_up(
            customer, amount=request.POST.get("amount"), key=request.POST.get("key", ""), actor=console_actor(request)
        )
        bonus = movement.bonus.amount if movement.bonus is not None else Decimal(0)
        return _("Topped up %(paid)s, bonus %(bonus)s.") % {"paid": movement.total - bonus, "bonus": bonus}

    return _act(request, token, run)


@require_POST
@counter_view
def give_goodwill(request: HttpRequest, token: str) -> HttpResponse:
    post = request.POST

    def run(customer: Customer) -> str:
        actor = console_actor(request)
        key = f"counter:{post.get('key', '')}"
        if post.get("template"):
            template = CouponTemplate.objects.filter(pk=_whole(post.get("template"), "template")).first()
            if template is None:
                raise InvalidInput.single("template", "not_found", _("Choose a coupon."))
            coupon = goodwill.give_coupon(
                customer, template=template, reason=post.get("reason"), key=key, actor=actor, context="counter"
            )
            return _("Coupon %(code)s given.") % {"code": coupon.code}
        given = goodwill.give_points(
            customer, points=post.get("points"), reason=post.get("reason"), key=key, actor=actor, context="counter"
        )
        return _("%(points)s goodwill points given.") % {"points": given}

    return _act(request, token, run)


@counter_view
def enrol(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            _customer, cards = services.enrol(
                name=request.POST.get("name"),
                phone=request.POST.get("phone"),
                agreed=request.POST.get("agreed") == "on",
                marketing=request.POST.get("marketing") == "on",
                actor=console_actor(request),
            )
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Welcome, new member!"))
            return redirect("counter:member", token=cards[0].token)
    return render(request, "counter/enrol.html", {"nav": "counter", "data": request.POST})


def manifest(request: HttpRequest) -> JsonResponse:
    """The installable web app: the counter and the task list on a phone's home screen."""
    return JsonResponse(
        {
            "name": _("Rapport store counter"),
            "short_name": _("Counter"),
            "start_url": reverse("counter:home"),
            "scope": "/counter/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1f4e79",
            "icons": [
                {"src": static("counter/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
                {"src": static("counter/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("counter/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            ],
            "shortcuts": [{"name": _("Tasks"), "url": reverse("clienteling:my_tasks")}],
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )


def service_worker(request: HttpRequest) -> HttpResponse:
    """The offline shell's worker, served under /counter/ so its scope covers the counter and tasks."""
    response = render(
        request,
        "counter/sw.js",
        {
            "offline_url": reverse("counter:offline"),
            "shell": [static("console/console.css"), static("counter/counter.css")],
        },
        content_type="application/javascript",
    )
    response["Cache-Control"] = "no-cache"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "counter/offline.html", {"nav": "counter"})
