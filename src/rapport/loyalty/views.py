"""Console pages for customer assets: the programme settings with its levels, earn rules, cards,
coupon templates and top-up bonuses; a coupon template's page (codes, issuing to a segment); and
the actions of the 360 "Assets" tab (adjust with a reason, issue a coupon, give a card).

Views only translate between HTTP and the services.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError
from rapport.core.jobs import enqueue
from rapport.core.requests import console_actor, error_text
from rapport.customers import queries as customer_queries
from rapport.customers.models import Customer
from rapport.loyalty import forms
from rapport.loyalty.models import (
    CardType,
    Coupon,
    CouponTemplate,
    EarnRule,
    Level,
    TopUpBonus,
)
from rapport.loyalty.services import adjustments, cards, coupons
from rapport.loyalty.services.program import program_settings, save_form
from rapport.segments.models import Segment

SETTINGS = "loyalty.change_programsettings"

# What the settings page edits: kind in the URL → (model, form, title).
CONFIG: dict[str, tuple[type[Any], type[ModelForm], Any]] = {  # type: ignore[type-arg]
    "level": (Level, forms.LevelForm, gettext_lazy("Member level")),
    "rule": (EarnRule, forms.EarnRuleForm, gettext_lazy("Earn rule")),
    "card": (CardType, forms.CardTypeForm, gettext_lazy("Benefit card")),
    "coupon": (CouponTemplate, forms.CouponTemplateForm, gettext_lazy("Coupon template")),
    "topup": (TopUpBonus, forms.TopUpBonusForm, gettext_lazy("Top-up bonus")),
}


def _form_errors(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items())


def _add_errors(form: Any, exc: DomainError) -> None:
    for error in exc.errors:
        form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
@permission_required("loyalty.view_account", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    can_change = request.user.has_perm(SETTINGS)
    form = forms.ProgramSettingsForm(request.POST or None, instance=program_settings())
    if request.method == "POST":
        if not can_change:
            raise Http404
        if form.is_valid():
            save_form(form, actor=console_actor(request))
            messages.success(request, _("Programme settings saved."))
            return redirect("loyalty:overview")
    context = {
        "nav": "loyalty",
        "form": form,
        "can_change": can_change,
        "levels": Level.objects.annotate(member_count=Count("members")),
        "rules": EarnRule.objects.all(),
        "card_types": CardType.objects.annotate(card_count=Count("cards")),
        "templates": CouponTemplate.objects.all()[:100],
        "top_ups": TopUpBonus.objects.all(),
    }
    return render(request, "loyalty/overview.html", context)


@login_required
@permission_required(SETTINGS, raise_exception=True)
def config_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind not in CONFIG:
        raise Http404
    model, form_class, title = CONFIG[kind]
    instance = get_object_or_404(model, pk=pk) if pk is not None else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_form(form, actor=console_actor(request))
        except DomainError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            if kind == "coupon":
                return redirect("loyalty:coupon_template", saved.pk)
            return redirect("loyalty:overview")
    return render(request, "loyalty/edit.html", {"nav": "loyalty", "form": form, "title": title, "instance": instance})


@login_required
@permission_required("loyalty.view_coupon", raise_exception=True)
def coupon_template(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(CouponTemplate, pk=pk)
    by_status = dict(template.coupons.values_list("status").annotate(n=Count("pk")))
    context = {
        "nav": "loyalty",
        "template": template,
        "by_status": by_status,
        "recent": template.coupons.exclude(status="available").select_related("customer")[:50],
        "codes_form": forms.GenerateCodesForm(),
        "segments": Segment.objects.filter(is_template=False).order_by("name"),
        "issue_key": uuid.uuid4().hex,
    }
    return render(request, "loyalty/coupon_template.html", context)


@login_required
@permission_required("loyalty.issue_coupon", raise_exception=True)
@require_POST
def generate_codes(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(CouponTemplate, pk=pk)
    form = forms.GenerateCodesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
    else:
        made = coupons.generate_codes(template, count=form.cleaned_data["count"], actor=console_actor(request))
        messages.success(request, _("%(count)s codes generated.") % {"count": made})
    return redirect("loyalty:coupon_template", pk)


@login_required
@permission_required("loyalty.issue_coupon", raise_exception=True)
@require_POST
def issue_to_segment(request: HttpRequest, pk: int) -> HttpResponse:
    from rapport.loyalty.tasks import issue_to_segment as issue_task

    template = get_object_or_404(CouponTemplate, pk=pk)
    form = forms.IssueToSegmentForm(request.POST)
    segment = Segment.objects.filter(pk=request.POST.get("segment") or 0).first()
    if not form.is_valid() or segment is None:
        messages.error(request, _("Choose a saved segment."))
    else:
        actor = console_actor(request)
        enqueue(issue_task, template.pk, segment.pk, form.cleaned_data["idempotency_key"], actor.describe())
        messages.success(
            request,
            _("Issuing “%(coupon)s” to the segment “%(segment)s” has started.")
            % {"coupon": template.name, "segment": segment.name},
        )
    return redirect("loyalty:coupon_template", pk)


# The 360 tab's actions ---------------------------------------------------------------------------


def _visible_customer(request: HttpRequest, customer_id: int) -> Customer:
    return get_object_or_404(customer_queries.visible_customers(request.user), pk=customer_id)


def _back_to_tab(customer: Customer) -> HttpResponse:
    return redirect(f"{reverse('customers:detail', args=[customer.pk])}?tab=assets")


def _tab_action(
    request: HttpRequest, customer_id: int, form_class: type[Any], act: Callable[[Customer, dict[str, Any]], str]
) -> HttpResponse:
    """Validate the tab's form, run ``act`` (a service call returning the success message), go back."""
    customer = _visible_customer(request, customer_id)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back_to_tab(customer)
    try:
        done = act(customer, form.cleaned_data)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)
    return _back_to_tab(customer)


@login_required
@permission_required("loyalty.adjust_balance", raise_exception=True)
@require_POST
def adjust(request: HttpRequest, customer_id: int) -> HttpResponse:
    def act(customer: Customer, data: dict[str, Any]) -> str:
        entry = adjustments.adjust(
            customer,
            asset=data["asset"],
            delta=data["delta"],
            reason=data["reason"],
            key=data["idempotency_key"],
            actor=console_actor(request),
        )
        return _("Adjusted. The balance is now %(balance)s.") % {"balance": entry.balance_after}

    return _tab_action(request, customer_id, forms.AdjustmentForm, act)


@login_required
@permission_required("loyalty.issue_coupon", raise_exception=True)
@require_POST
def issue_coupon(request: HttpRequest, customer_id: int) -> HttpResponse:
    def act(customer: Customer, data: dict[str, Any]) -> str:
        coupon = coupons.issue(data["template"], customer, key=data["idempotency_key"], actor=console_actor(request))
        return _("Coupon %(code)s issued.") % {"code": coupon.code}

    return _tab_action(request, customer_id, forms.IssueCouponForm, act)


@login_required
@permission_required("loyalty.issue_coupon", raise_exception=True)
@require_POST
def grant_card(request: HttpRequest, customer_id: int) -> HttpResponse:
    def act(customer: Customer, data: dict[str, Any]) -> str:
        card = cards.grant(data["card_type"], customer, key=data["idempotency_key"], actor=console_actor(request))
        return _("Card valid until %(date)s.") % {"date": f"{card.ends_at:%Y-%m-%d}"}

    return _tab_action(request, customer_id, forms.GrantCardForm, act)


@login_required
@permission_required("loyalty.issue_coupon", raise_exception=True)
@require_POST
def void_coupon(request: HttpRequest, customer_id: int, coupon_id: int) -> HttpResponse:
    def act(customer: Customer, data: dict[str, Any]) -> str:
        coupon = get_object_or_404(Coupon, pk=coupon_id, customer=customer)
        coupons.void(coupon, reason=data["reason"], actor=console_actor(request))
        return _("Coupon %(code)s voided.") % {"code": coupon.code}

    return _tab_action(request, customer_id, forms.VoidCouponForm, act)
