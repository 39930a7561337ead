"""Plans, enrollments, messages, split decisions, bounces and suppressions change only through the
campaign services and the engine (exactly-once sends, the plan life cycle, audit), so the admin
shows them read-only; a suppression is lifted on the customer's Messages tab or through the API.

Content templates and channel policies are edited here, through the same service calls as the
console (:func:`rapport.campaigns.services.save_template` and ``save_policy``), so the admin
refuses what the console refuses and every change is audited. Those services check and write in
one step, so the admin form calls them while it validates: their errors appear beside the fields,
and the admin's own save has nothing left to do. A channel's gateway secret is never shown: a new
one may be typed in, an empty field keeps the current one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.campaigns import services
from rapport.campaigns.models import (
    Bounce,
    ChannelPolicy,
    ContentTemplate,
    EmailSuppression,
    Enrollment,
    Message,
    Plan,
    SiteMessage,
    SplitDecision,
    Step,
)
from rapport.core.admin import ReadOnlyAdmin, SavedByServiceAdmin, SavedByServiceForm


class ContentTemplateForm(SavedByServiceForm):
    class Meta:
        model = ContentTemplate
        fields = ["name", "channel", "subject", "body"]

    def save_with_service(self) -> models.Model:
        data = {name: self.cleaned_data.get(name) for name in ("name", "channel", "subject", "body")}
        existing = self.instance if self.instance.pk else None
        return services.save_template(data=data, actor=self.actor, instance=existing)


POLICY_SETTINGS = ["is_enabled", "gateway_url", "daily_cap", "weekly_cap", "quiet_start", "quiet_end", "max_attempts"]


class ChannelPolicyForm(SavedByServiceForm):
    gateway_url = forms.URLField(label=_("gateway URL"), required=False, assume_scheme="https")
    new_gateway_secret = forms.CharField(
        label=_("new gateway secret"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to keep the current secret."),
    )

    class Meta:
        model = ChannelPolicy
        fields = ["channel", *POLICY_SETTINGS]

    def save_with_service(self) -> models.Model:
        data: dict[str, Any] = {name: self.cleaned_data.get(name) for name in POLICY_SETTINGS}
        if self.cleaned_data.get("new_gateway_secret"):
            data["gateway_secret"] = self.cleaned_data["new_gateway_secret"]
        return services.save_policy(self.instance.channel, data=data, actor=self.actor)


@admin.register(ContentTemplate)
class ContentTemplateAdmin(SavedByServiceAdmin):
    form = ContentTemplateForm
    list_display = ["name", "channel", "subject", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["name", "subject"]


@admin.register(ChannelPolicy)
class ChannelPolicyAdmin(SavedByServiceAdmin):
    form = ChannelPolicyForm
    list_display = ["channel", "is_enabled", "gateway_url", "daily_cap", "weekly_cap", "quiet_start", "quiet_end"]
    list_filter = ["is_enabled"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["channel"] if obj is not None else []


# Read-only: what the engine and the services wrote -----------------------------------------------


class StepInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Step
    extra = 0
    can_delete = False
    fields = readonly_fields = ("position", "kind", "config")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    """Plans are built, launched and stopped in the console's plan builder (validated steps)."""

    list_display = ["id", "name", "kind", "status", "segment", "starts_at", "launched_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name"]
    raw_id_fields = ["segment"]
    inlines = [StepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "plan", "customer", "entry_key", "state", "step", "wake_at", "entered_at"]
    list_filter = ["state"]
    search_fields = ["=customer__id", "=plan__id"]
    raw_id_fields = ["plan", "customer", "step"]
    show_full_result_count = False


@admin.register(SplitDecision)
class SplitDecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "enrollment", "step", "branch", "decided_at"]
    list_filter = ["branch"]
    raw_id_fields = ["enrollment", "step"]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "plan", "customer", "channel", "purpose", "status", "reason", "sent_at"]
    list_filter = ["status", "channel", "purpose", "reason"]
    search_fields = ["=id", "=customer__id", "reference"]
    raw_id_fields = ["plan", "step", "enrollment", "customer", "template"]
    show_full_result_count = False


@admin.register(SiteMessage)
class SiteMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "title", "created_at", "read_at"]
    search_fields = ["=customer__id", "title"]
    raw_id_fields = ["customer", "message"]


@admin.register(Bounce)
class BounceAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "message", "customer", "kind", "status", "source", "diagnostic"]
    list_filter = ["kind", "source"]
    search_fields = ["=message__id", "=customer__id", "status"]
    raw_id_fields = ["message", "customer"]


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(ReadOnlyAdmin):
    """Lifted on the customer's Messages tab (or the API): audited, with the reason."""

    list_display = ["created_at", "customer", "reason", "evidence"]
    list_filter = ["reason"]
    search_fields = ["=customer__id", "evidence"]
    raw_id_fields = ["customer"]
