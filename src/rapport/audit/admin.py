from django.contrib import admin

from rapport.audit.models import AuditEntry
from rapport.core.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "source", "action", "object_type", "object_id"]
    list_filter = ["action", "source", "object_type"]
    search_fields = ["actor_label", "object_repr", "object_id"]
