"""Tickets, mail, articles and surveys change only through the services (history, SLA, audit), so
the admin shows them read-only; the configuration tables (SLA policies, business hours,
assignment rules, agents, canned replies, article categories) are edited here."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from rapport.core.admin import ReadOnlyAdmin
from rapport.service.models import (
    AgentProfile,
    Article,
    ArticleCategory,
    AssignmentRule,
    BusinessHours,
    CannedReply,
    InboundMail,
    SlaPolicy,
    Survey,
    Ticket,
)
from rapport.service.queries import subject_matches


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["id", "subject", "category", "priority", "status", "assignee", "created_at"]
    list_filter = ["status", "category", "priority", "channel"]
    raw_id_fields = ["customer", "order", "merged_into"]
    search_fields = ["subject_search"]  # shows the search box; the search is below

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str) -> Any:
        """Subjects are encrypted: searched by the blind tokens of their words."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(subject_matches(search_term)), False


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "sender", "subject", "outcome", "reason", "size"]
    list_filter = ["outcome"]
    exclude = ["raw"]
    raw_id_fields = ["ticket"]


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ["title", "language", "category", "state", "updated_at"]
    list_filter = ["state", "language", "category"]


admin.site.register(Survey, ReadOnlyAdmin)
admin.site.register([AgentProfile, ArticleCategory, AssignmentRule, BusinessHours, CannedReply, SlaPolicy])
