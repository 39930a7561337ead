"""``/api/v1/segments``: saved segments, live preview, members, portrait, export, snapshots,
templates and the builder's condition catalogue. Handlers stay thin: services hold the rules.

Members are always shown masked here; only an export by someone allowed to reveal carries
plaintext, and that export is audited. Counts and members follow the caller's data scope.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from ninja import Field, P, QueryEx, Router, Status

from rapport.accounts.scopes import SEGMENTS_READ, SEGMENTS_WRITE
from rapport.core.api import TABLE_FILE, Strict, actor_for, require
from rapport.core.listing import page_body, paginate
from rapport.customers.models import Customer
from rapport.segments import export, lookups, rules, services
from rapport.segments.models import Segment, SegmentSnapshot
from rapport.segments.portrait import portrait
from rapport.segments.responses import (
    ConditionsOut,
    GetSegmentOut,
    MemberPage,
    SegmentLookupOut,
    SegmentOut,
    SegmentPage,
    SegmentPortraitOut,
    SegmentsPreviewOut,
    SnapshotOut,
    SnapshotPage,
)

router = Router(tags=["segments"], exclude_unset=True)

VIEW = "segments.view_segment"
ADD = "segments.add_segment"
CHANGE = "segments.change_segment"
DELETE = "segments.delete_segment"
EXPORT = "segments.export_segment"


class SegmentIn(Strict):
    name: str | None = Field(None, max_length=120)
    description: str | None = None
    rule: dict[str, Any] | None = Field(None, description="the JSON rule; see docs/segment-rules.md")
    snapshot_schedule: bool | None = None


class PreviewIn(Strict):
    rule: dict[str, Any]


class InstantiateIn(Strict):
    name: str = Field("", max_length=120)


def member_body(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "gender": customer.gender,
        "city": customer.city,
        "phone": customer.masked_phone,
        "email": customer.masked_email,
        "member_status": customer.member_status,
        "registered_at": customer.registered_at,
    }


def segment_body(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "rule": segment.rule,
        "is_template": segment.is_template,
        "snapshot_schedule": segment.snapshot_schedule,
        "created_by": segment.created_by.get_username() if segment.created_by else None,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
        "last_count": segment.last_count,
        "last_counted_at": segment.last_counted_at,
    }


def snapshot_body(snapshot: SegmentSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.pk,
        "taken_at": snapshot.taken_at,
        "member_count": snapshot.member_count,
        "entered_count": snapshot.entered_count,
        "left_count": snapshot.left_count,
    }


# Builder -----------------------------------------------------------------------------------


@router.get(
    "/segments/conditions",
    response={200: ConditionsOut},
    summary="Condition types, fields and operators for a rule builder",
)
def conditions(request: HttpRequest) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW)
    return rules.catalogue()


@router.post(
    "/segments/preview",
    response={200: SegmentsPreviewOut},
    summary="Count and first 50 members (masked) of a rule, unsaved",
)
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW, "customers.view_customer")
    count, first = services.preview(payload.rule, user=request.user)
    return {"count": count, "preview": [member_body(c) for c in first]}


@router.get(
    "/segments/lookup/{kind}",
    response={200: SegmentLookupOut},
    summary="Records a condition names (tags, coupon templates…), found by name",
)
def lookup(request: HttpRequest, kind: str, q: str = "", values: str = "") -> dict[str, Any]:
    require(request, SEGMENTS_READ)
    wanted = [v for v in values.split(",") if v] if values else []
    return lookups.lookup(kind, text=q, values=wanted, user=request.user)


# Templates ---------------------------------------------------------------------------------


@router.get("/segments/templates", response={200: list[SegmentOut]}, summary="Segment templates (人群模板)")
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, SEGMENTS_READ, VIEW)
    return [segment_body(s) for s in Segment.objects.filter(is_template=True).select_related("created_by")]


@router.post(
    "/segments/templates/{template_id}/instantiate", response={201: SegmentOut}, summary="A new segment from a template"
)
def instantiate(request: HttpRequest, template_id: int, payload: InstantiateIn) -> Status[dict[str, Any]]:
    require(request, SEGMENTS_WRITE, ADD)
    template = services.get_segment(template_id, templates=True)
    segment = services.instantiate_template(template, actor=actor_for(request), name=payload.name)
    return Status(201, segment_body(segment))


# Segments ----------------------------------------------------------------------------------


@router.get("/segments", response={200: SegmentPage}, summary="Saved segments")
def list_segments(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW)
    page = paginate(Segment.objects.filter(is_template=False).select_related("created_by"), limit=limit, offset=offset)
    return page_body(page, [segment_body(s) for s in page.items])


@router.post("/segments", response={201: SegmentOut}, summary="Save a segment")
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[dict[str, Any]]:
    require(request, SEGMENTS_WRITE, ADD)
    data = payload.model_dump(exclude_unset=True)
    return Status(201, segment_body(services.save_segment(data=data, actor=actor_for(request))))


@router.get("/segments/{segment_id}", response={200: GetSegmentOut}, summary="One segment, with its current count")
def get_segment(request: HttpRequest, segment_id: int) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW)
    segment = services.get_segment(segment_id, templates=None)
    body = segment_body(segment)
    body["count"] = services.segment_members(segment, user=request.user).count()
    return body


@router.patch(
    "/segments/{segment_id}",
    response={200: SegmentOut},
    summary="Change a segment's name, description, rule or schedule",
)
def update_segment(request: HttpRequest, segment_id: int, payload: SegmentIn) -> dict[str, Any]:
    require(request, SEGMENTS_WRITE, CHANGE)
    segment = services.get_segment(segment_id)
    data = payload.model_dump(exclude_unset=True)
    return segment_body(services.save_segment(data=data, actor=actor_for(request), instance=segment))


@router.delete("/segments/{segment_id}", response={204: None}, summary="Delete a segment and its history")
def delete_segment(request: HttpRequest, segment_id: int) -> Status[None]:
    require(request, SEGMENTS_WRITE, DELETE)
    services.delete_segment(services.get_segment(segment_id), actor=actor_for(request))
    return Status(204, None)


@router.get(
    "/segments/{segment_id}/members",
    response={200: MemberPage},
    summary="Members now, masked, newest registrations first",
)
def members(request: HttpRequest, segment_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW, "customers.view_customer")
    segment = services.get_segment(segment_id, templates=None)
    queryset = services.segment_members(segment, user=request.user).order_by("-registered_at", "-pk")
    page = paginate(queryset, limit=limit, offset=offset)
    return page_body(page, [member_body(c) for c in page.items])


@router.get(
    "/segments/{segment_id}/portrait",
    response={200: SegmentPortraitOut},
    summary="Distributions of the members (人群画像)",
)
def segment_portrait(request: HttpRequest, segment_id: int) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW)
    segment = services.get_segment(segment_id, templates=None)
    distributions = portrait(services.segment_members(segment, user=request.user))
    return {
        "dimensions": [
            {
                "key": d.key,
                "label": d.label,
                "unit": d.unit,
                "buckets": [{"key": b.key, "label": b.label, "count": b.count} for b in d.buckets],
            }
            for d in distributions
        ]
    }


@router.get(
    "/segments/{segment_id}/export",
    summary="Members as CSV or xlsx (masked unless you may reveal)",
    openapi_extra=TABLE_FILE,
)
def export_members(
    request: HttpRequest, segment_id: int, file_format: QueryEx[Literal["csv", "xlsx"], P(alias="format")] = "csv"
) -> Any:
    require(request, SEGMENTS_READ, VIEW, EXPORT)
    return export_response(request, services.get_segment(segment_id), file_format, actor_for(request))


def export_response(request: HttpRequest, segment: Segment, file_format: str, actor: Any) -> Any:
    """The streamed file, shared by the API and the console."""
    members = services.segment_members(segment, user=request.user)
    reveal = export.start_export(segment, members, actor=actor, file_format=file_format)
    name = export.filename(segment, file_format)
    if file_format == "xlsx":
        return FileResponse(export.xlsx_file(members, reveal=reveal), as_attachment=True, filename=name)
    response = StreamingHttpResponse(export.csv_chunks(members, reveal=reveal), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/segments/{segment_id}/snapshots", response={200: SnapshotPage}, summary="Snapshot history, newest first")
def snapshots(request: HttpRequest, segment_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, SEGMENTS_READ, VIEW)
    segment = services.get_segment(segment_id)
    page = paginate(segment.snapshots.all(), limit=limit, offset=offset)
    return page_body(page, [snapshot_body(s) for s in page.items])


@router.post("/segments/{segment_id}/snapshot", response={201: SnapshotOut}, summary="Take a snapshot now")
def take_snapshot(request: HttpRequest, segment_id: int) -> Status[dict[str, Any]]:
    require(request, SEGMENTS_WRITE, CHANGE)
    return Status(201, snapshot_body(services.take_snapshot(services.get_segment(segment_id))))
