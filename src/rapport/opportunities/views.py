"""The pipeline board (a column per stage, a move form on each card, the forecast below), a new
opportunity for a customer found by name or phone, and an opportunity with its activities."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError
from rapport.core.requests import console_actor, error_text
from rapport.customers.queries import filter_customers, visible_customer, visible_customers
from rapport.opportunities import services
from rapport.opportunities.models import Activity, ActivityKind, OpportunityStatus, Pipeline

SEARCH_RESULTS = 20


def _pipeline(request: HttpRequest) -> Pipeline | None:
    raw = request.GET.get("pipeline") or ""
    try:
        return services.pipeline_or_default(int(raw) if raw.isdigit() else None)
    except DomainError:
        return None


@login_required
@permission_required("opportunities.view_opportunity", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    pipeline = _pipeline(request)
    context: dict[str, Any] = {"nav": "opportunities", "pipeline": pipeline, "pipelines": Pipeline.objects.all()}
    if pipeline is not None:
        visible = services.visible_opportunities(request.user)
        cards = visible.filter(pipeline=pipeline).order_by("expected_close", "pk")
        stages = list(pipeline.stages.order_by("position", "pk"))
        by_stage: dict[int, list[Any]] = {stage.pk: [] for stage in stages}
        for card in cards.exclude(status__in=[OpportunityStatus.WON, OpportunityStatus.LOST])[:500]:
            by_stage.setdefault(card.stage_id, []).append(card)
        for card in cards.exclude(status=OpportunityStatus.OPEN).order_by("-closed_at")[:100]:
            by_stage.setdefault(card.stage_id, []).append(card)
        context["columns"] = [(stage, by_stage[stage.pk]) for stage in stages]
        context["stages"] = stages
        context["forecast"] = services.forecast(visible, pipeline)
    return render(request, "opportunities/board.html", context)


@login_required
@permission_required("opportunities.add_opportunity", raise_exception=True)
def new_opportunity(request: HttpRequest) -> HttpResponse:
    """Find the customer by name or phone (the customer list's own search), then the form."""
    query = (request.GET.get("q") or "").strip()
    customer = None
    chosen = request.POST.get("customer") or request.GET.get("customer") or ""
    if chosen.isdigit():
        try:
            customer = visible_customer(request.user, int(chosen))
        except DomainError as exc:
            messages.error(request, error_text(exc))
    if request.method == "POST" and customer is not None:
        try:
            opportunity = services.create_opportunity(customer, request.POST, actor=console_actor(request))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Opportunity created."))
            return redirect("opportunities:detail", pk=opportunity.pk)
    found = []
    if query and customer is None:
        try:
            found = list(filter_customers(visible_customers(request.user), {"q": query})[:SEARCH_RESULTS])
        except DomainError as exc:
            messages.error(request, error_text(exc))
    pipeline = _pipeline(request)
    context = {
        "nav": "opportunities",
        "query": query,
        "found": found,
        "customer": customer,
        "pipeline": pipeline,
        "stages": [s for s in pipeline.stages.order_by("position", "pk") if not s.outcome] if pipeline else [],
        "data": request.POST,
        "currency": request.POST.get("currency") or str(settings.RAPPORT_CURRENCY),
        "today": timezone.localdate(),
    }
    return render(request, "opportunities/new.html", context)


@login_required
@permission_required("opportunities.view_opportunity", raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        opportunity = services.get_opportunity(request.user, pk)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("opportunities:board")
    if request.method == "POST" and request.user.has_perm("opportunities.change_opportunity"):
        try:
            services.update_opportunity(opportunity, request.POST, actor=console_actor(request))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("opportunities:detail", pk=pk)
    context = {
        "nav": "opportunities",
        "opportunity": opportunity,
        "stages": opportunity.pipeline.stages.order_by("position", "pk"),
        "activities": [(a, _shown(a)) for a in opportunity.activities.select_related("by")[:100]],
        "kinds": [c for c in ActivityKind.choices if c[0] != ActivityKind.STAGE],
        "data": request.POST,
    }
    return render(request, "opportunities/detail.html", context)


def _shown(activity: Activity) -> str:
    """An activity's text as the viewer reads it: a stage change names the stages in their language."""
    if activity.kind != ActivityKind.STAGE:
        return activity.text
    return " → ".join(pgettext("opportunity stage", name) for name in activity.text.split(" → "))


@require_POST
@login_required
@permission_required("opportunities.change_opportunity", raise_exception=True)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        opportunity = services.get_opportunity(request.user, pk)
        moved = services.move_stage(
            opportunity,
            request.POST.get("stage"),
            order=request.POST.get("order"),
            lost_reason=request.POST.get("lost_reason", ""),
            actor=console_actor(request),
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Moved to %(stage)s.") % {"stage": pgettext("opportunity stage", moved.stage.name)})
    if request.POST.get("next") == "detail":
        return redirect("opportunities:detail", pk=pk)
    return redirect(f"{reverse('opportunities:board')}?pipeline={request.POST.get('pipeline', '')}#opportunity-{pk}")


@require_POST
@login_required
@permission_required("opportunities.change_opportunity", raise_exception=True)
def add_activity(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        opportunity = services.get_opportunity(request.user, pk)
        services.add_activity(
            opportunity, request.POST.get("kind"), request.POST.get("text"), actor=console_actor(request)
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Activity recorded."))
    return redirect("opportunities:detail", pk=pk)
