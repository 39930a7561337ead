"""Console pages: promotions running and upcoming (overlaps flagged), create and edit, a report per
promotion, and the preview calculator (enter a cart, see the price and the reason for every
discount). Thin: the services check and save, the engine prices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.errors import DomainError
from rapport.core.requests import console_actor
from rapport.promotions import holdouts, queries, services
from rapport.promotions.forms import PreviewForm, PromotionForm
from rapport.promotions.models import Promotion

VIEW = "promotions.view_promotion"


@login_required
@permission_required(VIEW, raise_exception=True)
def promotion_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    current = Promotion.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)).order_by("starts_at", "code")
    rows = [
        {"promotion": p, "running": p.is_active and p.starts_at <= now, "overlaps": services.overlap_warnings(p)}
        for p in current[:300]
    ]
    ended = Promotion.objects.filter(ends_at__lte=now).order_by("-ends_at")[:50]
    return render(request, "promotions/list.html", {"nav": "promotions", "rows": rows, "ended": ended})


@login_required
def promotion_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    promotion = get_object_or_404(Promotion, pk=pk) if pk is not None else None
    needed = "promotions.change_promotion" if promotion else "promotions.add_promotion"
    if not request.user.has_perm(needed):
        return HttpResponse(status=403)
    form = PromotionForm(request.POST) if request.method == "POST" else (
        PromotionForm.of(promotion) if promotion else PromotionForm(initial={"starts_at": timezone.now()})
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            if promotion is None:
                promotion, warnings = services.create_promotion(form.service_fields(), actor=console_actor(request))
            else:
                promotion, warnings = services.update_promotion(
                    promotion, form.service_fields(), actor=console_actor(request)
                )
        except DomainError as exc:
            for error in exc.errors:
                name = error.field.split("[")[0].split(".")[0]
                form.add_error(name if name in form.fields else None, error.message)
        else:
            messages.success(request, _("Promotion saved."))
            for warning in warnings:
                messages.warning(request, warning)
            return redirect("promotions:report", promotion.pk)
    return render(request, "promotions/edit.html", {"nav": "promotions", "form": form, "promotion": promotion})


@login_required
@permission_required(VIEW, raise_exception=True)
def promotion_report(request: HttpRequest, pk: int) -> HttpResponse:
    promotion = get_object_or_404(Promotion, pk=pk)
    context = {
        "nav": "promotions",
        "promotion": promotion,
        "figures": queries.performance(promotion),
        "granted": queries.granted_customers(promotion),
        "holdouts": holdouts.comparisons(promotion),
        "recent": promotion.uses.order_by("-created_at")[:50],
        "overlaps": services.overlap_warnings(promotion),
    }
    return render(request, "promotions/report.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
def preview(request: HttpRequest) -> HttpResponse:
    """The calculator reads only, so it answers a GET: the cart stays in the address to share."""
    form = PreviewForm(request.GET or None)
    priced = None
    if form.is_valid():
        shopper = services.Shopper(level_code=form.cleaned_data["level_code"], is_new=form.cleaned_data["is_new"])
        priced = services.price_cart(form.cleaned_data["lines"], shopper=shopper, channel=form.cleaned_data["channel"])
    return render(request, "promotions/preview.html", {"nav": "promotions", "form": form, "priced": priced})
