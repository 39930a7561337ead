"""Events, receipts, anonymous visitors (the identities stitched to customers), staged messages and
processing errors are written by the tracking API and the resolver only (de-duplication by
messageId, identity stitching), so the admin shows them read-only — without the traits, context
and raw staged messages, which may carry the personal data a shop sent.

Event sources are edited here through :mod:`rapport.events.services` like on the console (names
and identity channels checked, every change audited, the source cache refreshed). Those services
check and write in one step, so the admin form calls them while it validates: their errors appear
beside the fields, and the admin's own save has nothing left to do. The write key is never shown:
a new source gets one, and keys are rotated on the console's source page.
"""

from __future__ import annotations

from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin, SavedByServiceAdmin, SavedByServiceForm
from rapport.events import services
from rapport.events.models import AnonymousVisitor, Event, EventReceipt, ProcessingError, StagedMessage
from rapport.events.models import Source as EventSource


class SourceForm(SavedByServiceForm):
    class Meta:
        model = EventSource
        fields = ["name", "identity_channel", "is_enabled"]

    def save_with_service(self) -> EventSource:
        data = {"name": self.cleaned_data["name"], "identity_channel": self.cleaned_data["identity_channel"]}
        enabled = self.cleaned_data["is_enabled"]
        if self.instance.pk is None:
            source = services.create_source(data=data, actor=self.actor)
        else:
            source = services.update_source(self.instance, data=data, actor=self.actor)
        if source.is_enabled != enabled or "is_enabled" in self.changed_data:
            source = services.set_source_enabled(source, enabled=enabled, actor=self.actor)
        return source


@admin.register(EventSource)
class SourceAdmin(SavedByServiceAdmin):
    """Events keep pointing at their source, so a source is disabled, never deleted."""

    form = SourceForm
    list_display = ["name", "identity_channel", "is_enabled", "last_event_at", "key_rotated_at", "created_at"]
    list_filter = ["is_enabled", "identity_channel"]
    search_fields = ["name"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "type", "name", "source", "customer", "message_id", "received_at"]
    list_filter = ["type", "source"]
    search_fields = ["=message_id", "=customer__id", "name"]
    raw_id_fields = ["customer"]
    exclude = ["traits", "context"]
    show_full_result_count = False


@admin.register(EventReceipt)
class EventReceiptAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "message_id"]
    list_filter = ["source"]
    search_fields = ["=message_id"]
    show_full_result_count = False


@admin.register(AnonymousVisitor)
class AnonymousVisitorAdmin(ReadOnlyAdmin):
    list_display = ["anonymous_id", "customer", "first_seen_at", "last_seen_at"]
    search_fields = ["=anonymous_id", "=customer__id"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


@admin.register(ProcessingError)
class ProcessingErrorAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "source", "event_name", "field", "message", "message_id"]
    list_filter = ["source"]
    search_fields = ["=message_id", "event_name"]


@admin.register(StagedMessage)
class StagedMessageAdmin(ReadOnlyAdmin):
    """What the resolver has not stored yet (normally empty within a second or two)."""

    list_display = ["id", "source", "received_at", "type", "name"]
    exclude = ["body"]  # traits may hold personal data
