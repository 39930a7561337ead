"""Launching a plan from the console: first a confirmation that shows what it would reach.

The figures are :func:`rapport.campaigns.services.estimate_launch`, the same the API's estimate
answers; confirming posts to this page, which launches the plan.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from rapport.campaigns import services
from rapport.campaigns.models import ChannelKind, Plan
from rapport.core.errors import DomainError
from rapport.core.requests import console_actor, error_text
from rapport.loyalty.models import CouponTemplate


@login_required
@permission_required("campaigns.launch_plan", raise_exception=True)
def launch_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("segment"), pk=pk)
    try:
        if request.method == "POST":
            services.launch_plan(plan, actor=console_actor(request))
            messages.success(request, _("Plan launched."))
            return redirect("campaigns:detail", pk=pk)
        figures = services.estimate_launch(plan)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("campaigns:detail", pk=pk)
    coupons = dict(
        CouponTemplate.objects.filter(pk__in=[r.template for r in figures.rewards if r.template]).values_list(
            "pk", "name"
        )
    )
    return render(
        request,
        "campaigns/launch_confirm.html",
        {
            "nav": "campaigns",
            "plan": plan,
            "reach": figures,
            "channels": [(ChannelKind(c.channel).label, c) for c in figures.channels],
            "rewards": [(coupons.get(r.template or 0, ""), r) for r in figures.rewards],
            "has_costs": any(c.cost is not None for c in figures.channels),
        },
    )
