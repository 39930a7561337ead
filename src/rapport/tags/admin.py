from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.tags.models import (
    CustomerTag,
    SyncDelivery,
    SyncEndpoint,
    Tag,
    TagBatch,
    TagCategory,
    TagHistory,
    TagTemplate,
)


@admin.register(TagCategory)
class TagCategoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "position", "description"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "category", "type", "store", "is_active", "last_evaluated_at"]
    list_filter = ["type", "is_active", "category"]
    search_fields = ["name"]


@admin.register(CustomerTag)
class CustomerTagAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "tag", "source", "added_by_label", "added_at"]
    list_filter = ["source", "tag"]


@admin.register(TagHistory)
class TagHistoryAdmin(ReadOnlyAdmin):
    list_display = ["at", "customer_id", "tag", "action", "actor_label", "source", "reference"]
    list_filter = ["action", "source"]


@admin.register(TagBatch)
class TagBatchAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tag", "kind", "action", "matched", "changed", "actor_label"]


@admin.register(TagTemplate)
class TagTemplateAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "is_builtin"]


@admin.register(SyncEndpoint)
class SyncEndpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "adapter", "url", "is_active", "max_attempts"]
    exclude = ["secret"]


@admin.register(SyncDelivery)
class SyncDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "endpoint", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "endpoint"]
