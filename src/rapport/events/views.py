"""Console pages: event sources (write keys) and the events explorer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, InvalidInput
from rapport.core.listing import filled_params, page_offset, paginate
from rapport.core.requests import console_actor
from rapport.events import services
from rapport.events.forms import SourceForm
from rapport.events.models import Event, EventType, ProcessingError, Source, StagedMessage
from rapport.events.queries import filter_events, visible_events

PAGE_SIZE = 50


@login_required
@permission_required("events.view_source", raise_exception=True)
def source_list(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("events.add_source"):
            messages.error(request, _("Your role cannot add sources."))
        elif form.is_valid():
            try:
                source = services.create_source(data=form.cleaned_data, actor=console_actor(request))
                messages.success(request, _("Source created. Give its write key to the shop."))
                return redirect("events:source_detail", pk=source.pk)
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
    return render(request, "events/source_list.html", {"nav": "events", "sources": Source.objects.all(), "form": form})


@login_required
@permission_required("events.view_source", raise_exception=True)
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    context = {
        "nav": "events",
        "source": source,
        "show_key": request.user.has_perm("events.change_source"),
        "recent_events": Event.objects.filter(source=source).order_by("-timestamp", "-id")[:50],
        "recent_errors": ProcessingError.objects.filter(source=source)[:50],
        # normally 0: the resolver stores accepted messages within a second or two
        "staged": StagedMessage.objects.filter(source=source).count(),
        "tracking_host": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "events/source_detail.html", context)


@login_required
@require_POST
@permission_required("events.change_source", raise_exception=True)
def source_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    if action == "rotate":
        services.rotate_write_key(source, actor=console_actor(request))
        messages.success(request, _("New write key issued; the old one no longer works."))
    elif action in ("enable", "disable"):
        services.set_source_enabled(source, enabled=action == "enable", actor=console_actor(request))
        messages.success(request, _("Source enabled.") if action == "enable" else _("Source disabled."))
    return redirect("events:source_detail", pk=source.pk)


@login_required
@permission_required("events.view_event", raise_exception=True)
def explorer(request: HttpRequest) -> HttpResponse:
    params = filled_params(request.GET)
    page, errors = None, []
    try:
        events = filter_events(visible_events(request.user), params).select_related("source")
        page = paginate(events, limit=PAGE_SIZE, offset=page_offset(params.get("page"), PAGE_SIZE))
    except InvalidInput as exc:
        errors = exc.errors
    context: dict[str, Any] = {
        "nav": "events",
        "page": page,
        "errors": errors,
        "params": params,
        "types": EventType.values,
        "sources": Source.objects.all(),
        "names": visible_events(request.user)
        .exclude(name="")
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")[:200],
    }
    return render(request, "events/explorer.html", context)
