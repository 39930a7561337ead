"""Scheduled membership snapshots: one task per segment, started by a daily sweep."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import enqueue, tracked_task
from rapport.segments import services
from rapport.segments.models import Segment

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.segments.snapshot_segment", label=_("Segment snapshot"), resumable=True)
def snapshot_segment(segment_id: int) -> dict[str, int] | None:
    """Snapshot one segment; a deleted segment is skipped (safe to run twice: the second run
    simply records no changes)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return None
    snapshot = services.take_snapshot(segment)
    return {"members": snapshot.member_count, "entered": snapshot.entered_count, "left": snapshot.left_count}


@tracked_task(name="rapport.segments.snapshot_all", label=_("Segment snapshots (daily start)"))
def snapshot_all() -> int:
    """Start a snapshot of every saved segment that asks for one."""
    ids = list(services.scheduled_segments().values_list("pk", flat=True))
    for segment_id in ids:
        enqueue(snapshot_segment, segment_id)
    logger.info("segment snapshots started for %d segments", len(ids))
    return len(ids)
