"""Customer metrics and model fits are derived data that the metrics run rewrites, so the admin
shows them read-only. Saved reports are edited here through
:func:`rapport.analytics.reports.save_report` like in the report builder: the definition is
checked against the catalogue of dimensions, measures and filters, and every change is audited.
That service checks and writes in one step, so the admin form calls it while it validates: its
errors appear beside the fields, and the admin's own save has nothing left to do."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rapport.analytics import reports
from rapport.analytics.models import CustomerMetrics, ModelFit, SavedReport
from rapport.core.admin import ReadOnlyAdmin, SavedByServiceAdmin, SavedByServiceForm
from rapport.core.errors import FieldError


class SavedReportForm(SavedByServiceForm):
    class Meta:
        model = SavedReport
        fields = ["name", "owner", "definition"]

    def save_with_service(self) -> SavedReport:
        return reports.save_report(
            owner=self.instance.owner,
            name=self.cleaned_data["name"],
            definition=self.cleaned_data["definition"],
            actor=self.actor,
            report=self.instance if self.instance.pk else None,
        )

    def add_service_error(self, error: FieldError) -> None:
        # "definition.measures" and the like belong to the definition field
        field = error.field.split(".")[0]
        self.add_error(field if field in self.fields else None, f"{error.field}: {error.message}")


@admin.register(SavedReport)
class SavedReportAdmin(SavedByServiceAdmin):
    """Deleted by their owners in the report builder (audited)."""

    form = SavedReportForm
    list_display = ["name", "owner", "created_at", "updated_at"]
    list_filter = ["owner"]
    search_fields = ["name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A report stays with the person who saved it."""
        return ["owner"] if obj is not None else []


@admin.register(CustomerMetrics)
class CustomerMetricsAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "lifecycle_stage",
        "rfm_segment",
        "value_tier",
        "orders",
        "monetary",
        "clv_12m",
        "churn_probability",
        "computed_at",
    ]
    list_filter = ["lifecycle_stage", "rfm_segment", "value_tier", "price_sensitivity"]
    search_fields = ["=customer__id", "customer__name"]
    raw_id_fields = ["customer", "preferred_category"]
    show_full_result_count = False


@admin.register(ModelFit)
class ModelFitAdmin(ReadOnlyAdmin):
    list_display = ["kind", "fitted_at", "customers"]
    list_filter = ["kind"]
