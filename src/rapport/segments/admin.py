from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.segments.models import Segment, SegmentSnapshot


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "is_template", "last_count", "last_counted_at", "created_by", "updated_at"]
    list_filter = ["is_template", "snapshot_schedule"]
    search_fields = ["name", "description"]


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "segment", "taken_at", "member_count", "entered_count", "left_count"]
    list_filter = ["segment"]
