from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from rapport.core import pii
from rapport.core.admin import ReadOnlyAdmin
from rapport.customers.models import (
    ChangeRecord,
    Customer,
    CustomFieldDefinition,
    Identity,
    Note,
    Store,
    identity_is_personal,
)
from rapport.customers.services import identity_indexes


class IdentityInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Identity
    extra = 0
    can_delete = False
    fields = readonly_fields = ("channel", "shown_id", "created_at")

    @admin.display(description=_("external id"))
    def shown_id(self, identity: Identity) -> str:
        """A personal id (a phone, an email, an openid) masked, as the profile's phone is."""
        if identity_is_personal(identity.channel, identity.external_id):
            return pii.mask_text(identity.external_id)
        return identity.external_id


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Personal data stays masked here too: plaintext is only for the audited reveal."""

    list_display = ["id", "name", "masked_phone", "masked_email", "store", "owner", "member_status", "registered_at"]
    list_filter = ["member_status", "store", "registration_channel"]
    search_fields = ["name"]
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

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> tuple[Any, bool]:
        """Names as usual, and an identity's id exactly, through its blind index (ids are sealed)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            indexes = identity_indexes(search_term.strip())
            found |= queryset.filter(identities__external_index__in=indexes)
            may_have_duplicates = True
        return found, may_have_duplicates


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
