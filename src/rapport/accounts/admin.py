from django.contrib import admin

from rapport.accounts.models import ApiToken, StaffProfile
from rapport.core.admin import ReadOnlyAdmin


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "display_name", "store"]
    list_filter = ["store"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created and revoked with ``rapport token``; their secrets are never stored."""

    list_display = ["prefix", "name", "user", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    exclude = ["secret_hash"]
