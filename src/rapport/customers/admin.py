from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.customers.models import ChangeRecord, Customer, CustomFieldDefinition, Identity, Note, Store


class IdentityInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Identity
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "external_id", "created_at"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Personal data stays masked here too: plaintext is only for the audited reveal."""

    list_display = ["id", "name", "masked_phone", "masked_email", "store", "owner", "member_status", "registered_at"]
    list_filter = ["member_status", "store", "registration_channel"]
    search_fields = ["name", "identities__external_id"]
    fields = readonly_fields = (
        "name",
        "masked_phone",
        "masked_email",
        "masked_id_number",
        "gender",
        "birthday",
        "city",
        "member_status",
        "registered_at",
        "registration_channel",
        "store",
        "owner",
        "custom_fields",
    )
    inlines = [IdentityInline]


@admin.register(Store)
class StoreAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "city", "time_zone", "currency", "is_online", "is_active"]


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(ReadOnlyAdmin):
    list_display = ["key", "label", "field_type", "required", "is_active"]


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ["customer", "author", "created_at"]


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ["customer", "field", "old_value", "new_value", "actor_label", "source", "created_at"]
    list_filter = ["source", "field"]
