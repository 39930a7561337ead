"""The bodies the segments API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class ConditionsOut(Body):
    conditions: list[dict[str, Any]]
    operators: dict[str, Any]
    kinds: dict[str, Any]
    sources: dict[str, Any]
    types: list[dict[str, Any]]
    op_labels: dict[str, Any]
    value_shapes: dict[str, Any]


class SegmentsPreviewOut(Body):
    count: int
    preview: list[PreviewPreviewItem]


class SegmentOut(Body):
    id: int
    name: str
    description: str
    rule: dict[str, Any]
    is_template: bool
    snapshot_schedule: bool
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_count: Any
    last_counted_at: Any


class SegmentPage(Body):
    count: int
    limit: int
    offset: int
    results: list[SegmentOut]


class GetSegmentOut(Body):
    id: int
    name: str
    description: str
    rule: dict[str, Any]
    is_template: bool
    snapshot_schedule: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    last_count: Any
    last_counted_at: Any
    count: int


class MemberPage(Body):
    count: int
    limit: int
    offset: int
    results: list[MemberOut]


class SegmentPortraitOut(Body):
    dimensions: list[SegmentPortraitDimensionsItem]


class SnapshotPage(Body):
    count: int
    limit: int
    offset: int
    results: list[SnapshotOut]


class SnapshotOut(Body):
    id: int
    taken_at: dt.datetime
    member_count: int
    entered_count: int
    left_count: int


class PreviewPreviewItem(Body):
    id: int
    name: str
    gender: str
    city: str
    phone: str
    email: str
    member_status: str
    registered_at: dt.datetime


class MemberOut(Body):
    id: int
    name: str
    gender: str
    city: str
    phone: str
    email: str
    member_status: str
    registered_at: dt.datetime


class SegmentPortraitDimensionsItem(Body):
    key: str
    label: str
    unit: str
    buckets: list[dict[str, Any]]


ConditionsOut.model_rebuild()
SegmentsPreviewOut.model_rebuild()
SegmentOut.model_rebuild()
SegmentPage.model_rebuild()
GetSegmentOut.model_rebuild()
MemberPage.model_rebuild()
SegmentPortraitOut.model_rebuild()
SnapshotPage.model_rebuild()
SnapshotOut.model_rebuild()
PreviewPreviewItem.model_rebuild()
MemberOut.model_rebuild()
SegmentPortraitDimensionsItem.model_rebuild()


class SegmentLookupOut(Body):
    """Records a condition names, found by name, and the names of the ids a saved rule holds."""

    kind: str
    label: str
    results: list[dict[str, Any]]
    labels: dict[str, Any]
