from django.contrib import admin
from django.http import HttpRequest

from rapport.imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    list_display = [
        "id",
        "kind",
        "original_name",
        "status",
        "processed_rows",
        "created_rows",
        "updated_rows",
        "error_rows",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["original_name", "channel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs start from the console or `rapport import`

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False
