"""Promotions change only through the services (field checks, caps, audit log), so the admin shows
them, their uses and the personal promotions campaigns granted read-only; operators set promotions
up in the console or through the API."""

from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.promotions.models import PersonalPromotion, Promotion, PromotionUse


@admin.register(Promotion)
class PromotionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "audience", "starts_at", "ends_at", "is_active", "times_used")
    list_filter = ("kind", "audience", "is_active")
    search_fields = ("code", "name")


@admin.register(PromotionUse)
class PromotionUseAdmin(ReadOnlyAdmin):
    list_display = ("promotion", "key", "order", "amount", "reversed_amount", "created_at")
    search_fields = ("key", "promotion__code")


@admin.register(PersonalPromotion)
class PersonalPromotionAdmin(ReadOnlyAdmin):
    list_display = ("promotion", "customer", "plan_id", "valid_from", "valid_until")
    search_fields = ("key", "promotion__code")
