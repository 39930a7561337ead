"""Console pages for segments: the list, the builder, a segment's page (count, portrait,
snapshots, export) and the template gallery. Views translate HTTP to services and back.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, InvalidInput
from rapport.core.listing import page_offset, paginate
from rapport.core.requests import console_actor
from rapport.segments import rules, services
from rapport.segments.api import export_response
from rapport.segments.export import can_reveal
from rapport.segments.forms import SegmentForm
from rapport.segments.models import Segment
from rapport.segments.portrait import portrait

PAGE_SIZE = 25
PREVIEW_URL = "/api/v1/segments/preview"
LOOKUP_URL = "/api/v1/segments/lookup/"


def builder_context(
    rule_errors: list[dict[str, str]], *, preview_url: str = "", rule_input: str = "id_rule", json_view: str = ""
) -> dict[str, Any]:
    """What a page embedding the rule builder (segments/includes/builder_data.html and
    segments/builder.js) hands it: the registry's catalogue, the errors to show, where to ask."""
    return {
        "catalogue": rules.catalogue(),
        "rule_errors": rule_errors,
        "builder_config": {
            "previewUrl": preview_url,
            "lookupUrl": LOOKUP_URL,
            "customerUrl": reverse("customers:list"),
            "ruleInput": rule_input,
            "jsonView": json_view or "rule-json",
        },
    }


def _segment(pk: int, *, templates: bool | None = False) -> Segment:
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None or (templates is not None and segment.is_template != templates):
        raise Http404(_("No such segment."))
    return segment


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = Segment.objects.filter(is_template=False).select_related("created_by")
    page = paginate(segments, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    return render(request, "segments/list.html", {"nav": "segments", "page": page})


@login_required
def builder(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    segment = _segment(pk) if pk is not None else None
    needed = "segments.change_segment" if segment else "segments.add_segment"
    if not request.user.has_perm(needed):
        raise PermissionDenied
    form = SegmentForm.for_segment(segment, request.POST or None)
    rule_errors: list[dict[str, str]] = []
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_segment(data=form.segment_data(), actor=console_actor(request), instance=segment)
        except InvalidInput as exc:
            for error in exc.errors:
                if error.field == "rule" or error.field.startswith("rule."):
                    rule_errors.append(error.as_dict())
                else:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Segment saved."))
            return redirect("segments:detail", pk=saved.pk)
    rule = form.data.get("rule") if form.is_bound else form.initial.get("rule")
    context = {
        "nav": "segments",
        "form": form,
        "segment": segment,
        "rule_json": rule or json.dumps({"all": []}),
        **builder_context(rule_errors, preview_url=PREVIEW_URL),
    }
    return render(request, "segments/builder.html", context)


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(pk, templates=None)
    members = services.segment_members(segment, user=request.user)
    count = services.count_members(segment, user=request.user)
    snapshots = segment.snapshots.all()[:30]
    context: dict[str, Any] = {
        "nav": "segments",
        "segment": segment,
        "count": count,
        "rule_json": json.dumps(segment.rule, ensure_ascii=False, indent=2),
        "preview": list(members.order_by("-registered_at", "-pk")[: services.PREVIEW_SIZE]),
        "portrait": portrait(members),
        "snapshots": snapshots,
        "reveals_on_export": can_reveal(console_actor(request)),
    }
    return render(request, "segments/detail.html", context)


@login_required
@permission_required("segments.export_segment", raise_exception=True)
def export_members(request: HttpRequest, pk: int) -> Any:
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404(_("Unknown export format."))
    return export_response(request, _segment(pk), file_format, console_actor(request))


@login_required
@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def snapshot_now(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = services.take_snapshot(_segment(pk))
    messages.success(
        request,
        _("Snapshot taken: %(members)s members, %(entered)s entered, %(left)s left.")
        % {"members": snapshot.member_count, "entered": snapshot.entered_count, "left": snapshot.left_count},
    )
    return redirect("segments:detail", pk=pk)


@login_required
@require_POST
@permission_required("segments.delete_segment", raise_exception=True)
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(pk)
    try:
        services.delete_segment(segment, actor=console_actor(request))
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
        return redirect("segments:detail", pk=pk)
    messages.success(request, _("Segment deleted."))
    return redirect("segments:list")


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def template_gallery(request: HttpRequest) -> HttpResponse:
    templates = Segment.objects.filter(is_template=True)
    return render(request, "segments/templates.html", {"nav": "segments", "templates": templates})


@login_required
@require_POST
@permission_required("segments.add_segment", raise_exception=True)
def use_template(request: HttpRequest, pk: int) -> HttpResponse:
    segment = services.instantiate_template(_segment(pk, templates=True), actor=console_actor(request))
    messages.success(request, _("A new segment from the template: adjust it and save."))
    return redirect("segments:edit", pk=segment.pk)
