"""The member's own pages: balances and history, coupons (and claiming them), level and progress,
notification preferences with one-click withdrawal of marketing consent.

Each view reads ``request.member`` (set by :func:`~rapport.portal.auth.member_required`) and
calls the loyalty and consent services; a member only ever sees their own rows.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError
from rapport.customers import consent
from rapport.customers.models import ConsentChannel, ConsentPurpose, Customer
from rapport.loyalty.models import Asset, Coupon, CouponStatus, Entry, Level
from rapport.loyalty.services import cards, coupons, ledger, levels, points, stored_value
from rapport.loyalty.services.program import program_settings
from rapport.portal.auth import member_actor, member_required

HISTORY_SIZE = 100
# Why a claim was refused, said to the member who asked (the services word it for staff).
CLAIM_REFUSALS = {
    "limit_reached": gettext_lazy("You already have as many of these coupons as you can get."),
    "out_of_stock": gettext_lazy("Sorry, all of these coupons have been claimed."),
    "inactive": gettext_lazy("This coupon is no longer being given out."),
    "ended": gettext_lazy("This coupon has ended."),
}


def _member(request: HttpRequest) -> Customer:
    return request.member  # type: ignore[attr-defined]


@member_required
def home(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    context = {
        "portal_section": "home",
        "points_balance": ledger.balances(member.pk).get(Asset.POINTS, 0),
        "wallet": stored_value.balance(member.pk),
        "progress": levels.progress(member.pk),
        "coupon_count": Coupon.objects.filter(customer=member, status=CouponStatus.ISSUED).count(),
        "expiring": points.expiring(member.pk, within_days=program_settings().expiry_warning_days),
        "recent": Entry.objects.filter(account__customer=member)
        .select_related("account")
        .order_by(*ledger.STATEMENT_ORDER)[:5],
    }
    return render(request, "portal/home.html", context)


@member_required
def history(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    asset = request.GET.get("asset", "")
    entries = Entry.objects.filter(account__customer=member).select_related("account").order_by(*ledger.STATEMENT_ORDER)
    if asset in Asset.values:
        entries = entries.filter(account__asset=asset)
    context = {
        "portal_section": "history",
        "entries": entries[:HISTORY_SIZE],
        "asset": asset,
        "assets": Asset.choices,
        "wallet": stored_value.balance(member.pk),
        "points_balance": ledger.balances(member.pk).get(Asset.POINTS, 0),
    }
    return render(request, "portal/history.html", context)


@member_required
def coupon_list(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    held = Coupon.objects.filter(customer=member).select_related("template")
    context = {
        "portal_section": "coupons",
        "usable": held.filter(status=CouponStatus.ISSUED),
        "past": held.exclude(status=CouponStatus.ISSUED)[:30],
        "claimable": coupons.claimable_templates(member),
        "claim_key": uuid.uuid4().hex,
    }
    return render(request, "portal/coupons.html", context)


@member_required
@require_POST
def claim_coupon(request: HttpRequest, template_id: int) -> HttpResponse:
    member = _member(request)
    template = get_object_or_404(coupons.claimable_templates(None), pk=template_id)
    try:
        coupon = coupons.issue(
            template,
            member,
            key=f"claim:{request.POST.get('key', '')}",
            actor=member_actor(request),
            reference="portal",
        )
    except DomainError as exc:  # e.g. claimed twice from two tabs: said to the member, not about them
        messages.error(request, " ".join(str(CLAIM_REFUSALS.get(e.code, e.message)) for e in exc.errors))
    else:
        messages.success(request, _("Coupon %(code)s is yours.") % {"code": coupon.code})
    return redirect("portal:coupons")


@member_required
def level(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    context = {
        "portal_section": "level",
        "progress": levels.progress(member.pk),
        "levels": Level.objects.all(),
        "cards": cards.active_cards(member.pk),
    }
    return render(request, "portal/level.html", context)


@member_required
def preferences(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    if request.method == "POST":
        decisions = [
            {
                "channel": channel,
                "purpose": ConsentPurpose.MARKETING,
                "granted": request.POST.get(f"marketing_{channel}") == "on",
            }
            for channel in ConsentChannel.values
        ]
        try:
            consent.set_consents(member, decisions, actor=member_actor(request), evidence="member portal preferences")
        except DomainError as exc:
            messages.error(request, " ".join(e.message for e in exc.errors))
        else:
            messages.success(request, _("Your preferences are saved."))
        return redirect("portal:preferences")
    state = [row for row in consent.consent_state(member) if row["purpose"] == ConsentPurpose.MARKETING]
    return render(request, "portal/preferences.html", {"portal_section": "preferences", "state": state})


@member_required
@require_POST
def stop_marketing(request: HttpRequest) -> HttpResponse:
    consent.withdraw_marketing(
        _member(request), actor=member_actor(request), evidence="member portal one-click withdrawal"
    )
    messages.success(request, _("Done: you will get no more marketing messages from us."))
    return redirect("portal:preferences")
