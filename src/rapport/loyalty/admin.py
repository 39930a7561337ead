"""Balances, lots, coupons, cards and memberships change only through the loyalty services (they
keep ``balance == sum(entries)``, the lots, idempotency keys and the audit log right), so the
admin shows them read-only. The programme's configuration (settings, earn rules, levels, card
types, coupon templates, top-up bonuses) is edited here through the console's forms and
:func:`rapport.loyalty.services.program.save_form`, so the admin refuses what the console refuses
and every change is audited. Configuration rows are not deleted here (deactivate them instead):
deleting would bypass the audit log, and coupons, cards and members keep referring to them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from rapport.core.actor import Actor, Source
from rapport.core.admin import ReadOnlyAdmin
from rapport.core.errors import DomainError
from rapport.loyalty import forms
from rapport.loyalty.models import (
    Account,
    BenefitCard,
    CardPeriod,
    CardType,
    Coupon,
    CouponEvent,
    CouponTemplate,
    EarnRule,
    Entry,
    GoodwillGrant,
    GoodwillLimit,
    Level,
    LevelChange,
    Lot,
    LotUse,
    Membership,
    ProgramSettings,
    Redemption,
    TopUpBonus,
)
from rapport.loyalty.services.coupons import validate_template
from rapport.loyalty.services.program import save_form


class ConfigurationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Add and change with the console's form, saved (and audited) by the loyalty service."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        save_form(form, actor=Actor(user=request.user, source=Source.CONSOLE))


# Ledgers -----------------------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "asset", "balance", "updated_at"]
    list_filter = ["asset"]
    search_fields = ["=customer__id", "customer__name"]
    raw_id_fields = ["customer"]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "kind", "amount", "balance_after", "reference", "actor"]
    list_filter = ["kind", "account__asset"]
    search_fields = ["=idempotency_key", "reference", "=account__customer__id"]
    raw_id_fields = ["account", "order"]
    show_full_result_count = False


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "earned_at", "expires_at", "amount", "remaining"]
    search_fields = ["=account__customer__id"]
    raw_id_fields = ["account", "entry"]
    show_full_result_count = False


@admin.register(LotUse)
class LotUseAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "lot", "amount"]
    raw_id_fields = ["entry", "lot"]
    show_full_result_count = False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["customer", "level", "growth", "level_since", "reviewed_at"]
    list_filter = ["level"]
    search_fields = ["=customer__id", "customer__name"]
    raw_id_fields = ["customer"]


@admin.register(LevelChange)
class LevelChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "customer", "from_level", "to_level", "reason", "actor"]
    list_filter = ["reason"]
    search_fields = ["=customer__id"]
    raw_id_fields = ["customer"]


@admin.register(BenefitCard)
class BenefitCardAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "card_type", "starts_at", "ends_at", "amount_paid", "cancelled_at"]
    list_filter = ["card_type"]
    search_fields = ["=customer__id"]
    raw_id_fields = ["customer"]


@admin.register(CardPeriod)
class CardPeriodAdmin(ReadOnlyAdmin):
    list_display = ["id", "card", "starts_at", "ends_at", "amount_paid", "actor"]
    search_fields = ["=idempotency_key"]
    raw_id_fields = ["card"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["code", "template", "customer", "status", "issued_at", "valid_until", "redeemed_at"]
    list_filter = ["status", "template"]
    search_fields = ["=code", "=customer__id", "redeemed_order"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


@admin.register(CouponEvent)
class CouponEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "coupon", "kind", "reference", "actor"]
    list_filter = ["kind"]
    search_fields = ["=coupon__code", "=idempotency_key"]
    raw_id_fields = ["coupon"]
    show_full_result_count = False


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "order_reference", "cart_total", "amount_due", "status"]
    list_filter = ["status"]
    search_fields = ["=order_reference", "=idempotency_key", "=customer__id"]
    raw_id_fields = ["customer", "coupon"]


# Configuration -----------------------------------------------------------------------------------


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(ConfigurationAdmin):
    """The single settings row (created with its defaults on first use): changed, never added."""

    form = forms.ProgramSettingsForm
    list_display = ["__str__", "points_expiry", "points_per_currency_unit", "max_points_share", "growth_source"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EarnRule)
class EarnRuleAdmin(ConfigurationAdmin):
    form = forms.EarnRuleForm
    list_display = ["name", "kind", "points_per_unit", "event_name", "points", "multiplier", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "event_name"]
    filter_horizontal = ["stores"]


@admin.register(Level)
class LevelAdmin(ConfigurationAdmin):
    form = forms.LevelForm
    list_display = ["rank", "name", "threshold", "keep_threshold", "points_multiplier", "discount_percent"]


@admin.register(CardType)
class CardTypeAdmin(ConfigurationAdmin):
    form = forms.CardTypeForm
    list_display = ["name", "price", "validity_days", "points_multiplier", "discount_percent", "is_active"]
    list_filter = ["is_active"]


class CouponTemplateAdminForm(forms.CouponTemplateForm):
    """The console's form plus the template rules the service checks, shown beside the fields."""

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # Django's hook after the instance is built
        if self.errors:
            return
        try:
            validate_template(self.instance)
        except DomainError as exc:
            for error in exc.errors:
                self.add_error(error.field if error.field in self.fields else None, error.message)


@admin.register(CouponTemplate)
class CouponTemplateAdmin(ConfigurationAdmin):
    form = CouponTemplateAdminForm
    list_display = [
        "name",
        "kind",
        "amount_off",
        "percent_off",
        "threshold",
        "issued_count",
        "total_stock",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "is_claimable"]
    search_fields = ["name"]
    filter_horizontal = ["stores"]


@admin.register(TopUpBonus)
class TopUpBonusAdmin(ConfigurationAdmin):
    form = forms.TopUpBonusForm
    list_display = ["minimum", "bonus", "is_active"]


@admin.register(GoodwillLimit)
class GoodwillLimitAdmin(ConfigurationAdmin):
    """An administrator sets how much goodwill each role's staff may give (agents and clerks alike)."""

    form = forms.GoodwillLimitForm
    list_display = ["role", "points_per_grant", "points_per_day", "coupons_per_day", "updated_at"]


@admin.register(GoodwillGrant)
class GoodwillGrantAdmin(ReadOnlyAdmin):
    list_display = ["granted_at", "customer", "staff", "role", "points", "coupon", "context", "reason"]
    list_filter = ["role"]
    raw_id_fields = ["customer", "staff", "coupon"]
