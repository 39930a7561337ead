"""Console forms for the loyalty settings pages and the 360 assets tab."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.accounts.roles import ROLE_LABELS
from rapport.loyalty.models import (
    Asset,
    CardType,
    CouponTemplate,
    EarnRule,
    GoodwillLimit,
    Level,
    ProgramSettings,
    TopUpBonus,
)


class CodeListField(forms.CharField):
    """A comma- or line-separated list of codes (SKUs, category codes), kept as a JSON list."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class ProgramSettingsForm(forms.ModelForm[ProgramSettings]):
    class Meta:
        model = ProgramSettings
        fields = [
            "points_expiry",
            "points_expiry_days",
            "points_per_currency_unit",
            "max_points_share",
            "stored_value_spend_order",
            "growth_source",
            "growth_window_days",
            "expiry_warning_days",
        ]


class EarnRuleForm(forms.ModelForm[EarnRule]):
    class Meta:
        model = EarnRule
        fields = [
            "name",
            "kind",
            "points_per_unit",
            "rounding",
            "minimum_amount",
            "event_name",
            "points",
            "daily_limit",
            "multiplier",
            "bonus_points",
            "stores",
            "starts_at",
            "ends_at",
            "is_active",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "per_event" and not data.get("event_name"):
            self.add_error("event_name", _("A per-event rule needs the event name."))
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The end must be after the start."))
        return data


class LevelForm(forms.ModelForm[Level]):
    class Meta:
        model = Level
        fields = [
            "name",
            "rank",
            "threshold",
            "keep_threshold",
            "points_multiplier",
            "discount_percent",
            "free_shipping",
            "birthday_points",
            "custom_benefits",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        keep, reach = data.get("keep_threshold"), data.get("threshold")
        if keep is not None and reach is not None and keep > reach:
            self.add_error("keep_threshold", _("Keeping a level cannot need more than reaching it."))
        return data


class CardTypeForm(forms.ModelForm[CardType]):
    class Meta:
        model = CardType
        fields = [
            "name",
            "price",
            "validity_days",
            "points_multiplier",
            "discount_percent",
            "free_shipping",
            "welcome_coupon",
            "custom_benefits",
            "is_active",
        ]


class CouponTemplateForm(forms.ModelForm[CouponTemplate]):
    product_skus = CodeListField(label=_("Only these SKUs"), required=False)
    category_codes = CodeListField(label=_("Only these categories"), required=False)

    class Meta:
        model = CouponTemplate
        fields = [
            "name",
            "kind",
            "amount_off",
            "percent_off",
            "max_discount",
            "threshold",
            "product_skus",
            "category_codes",
            "stores",
            "valid_from",
            "valid_until",
            "valid_days",
            "per_customer_limit",
            "total_stock",
            "return_on_refund",
            "is_claimable",
            "is_active",
        ]
        widgets = {
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }


class TopUpBonusForm(forms.ModelForm[TopUpBonus]):
    class Meta:
        model = TopUpBonus
        fields = ["minimum", "bonus", "is_active"]


class GoodwillLimitForm(forms.ModelForm[GoodwillLimit]):
    role = forms.ChoiceField(label=_("Role"), choices=list(ROLE_LABELS.items()))

    class Meta:
        model = GoodwillLimit
        fields = ["role", "points_per_grant", "points_per_day", "coupons_per_day"]


class AdjustmentForm(forms.Form):
    asset = forms.ChoiceField(label=_("Balance"), choices=Asset.choices)
    delta = forms.DecimalField(label=_("Change (negative takes away)"), max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class IssueCouponForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Coupon"), queryset=CouponTemplate.objects.filter(is_active=True))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class GrantCardForm(forms.Form):
    card_type = forms.ModelChoiceField(label=_("Card"), queryset=CardType.objects.filter(is_active=True))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class VoidCouponForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=100_000)


class IssueToSegmentForm(forms.Form):
    segment = forms.IntegerField(label=_("Saved segment"), widget=forms.Select)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)
