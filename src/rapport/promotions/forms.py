"""Console forms: a promotion's fields as an operator types them (lists comma-separated, tiers and
bundle parts one a line), and the preview calculator's cart. Services do the checking; these only
turn text into the values the services take."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.promotions.models import Audience, Promotion, PromotionKind
from rapport.promotions.pricing import CartLine

LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


class PromotionForm(forms.Form):
    code = forms.SlugField(label=_("code"), max_length=60)
    name = forms.CharField(label=_("name"), max_length=120)
    kind = forms.ChoiceField(label=_("kind"), choices=PromotionKind.choices)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    starts_at = forms.DateTimeField(label=_("starts at"), widget=LOCAL)
    ends_at = forms.DateTimeField(label=_("ends at"), widget=LOCAL, required=False)
    audience = forms.ChoiceField(label=_("audience"), choices=Audience.choices)
    level_codes = forms.CharField(label=_("levels"), required=False, help_text=_("Comma-separated."))
    channels = forms.CharField(
        label=_("channels"), required=False, help_text=_("Comma-separated; empty: every channel.")
    )
    skus = forms.CharField(label=_("SKUs"), required=False, help_text=_("Comma-separated; empty: every product."))
    categories = forms.CharField(label=_("categories"), required=False, help_text=_("Comma-separated."))
    tiers = forms.CharField(
        label=_("tiers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One a line: threshold and amount off (300 30), or a percent off (2 10%)."),
    )
    by_units = forms.BooleanField(label=_("thresholds count units"), required=False)
    repeat = forms.BooleanField(label=_("repeat for every multiple of the threshold"), required=False)
    max_off = forms.DecimalField(label=_("at most off"), required=False, min_value=0, decimal_places=2)
    price = forms.DecimalField(label=_("price"), required=False, min_value=0, decimal_places=2)
    percent_off = forms.DecimalField(label=_("percent off"), required=False, decimal_places=2)
    amount_off = forms.DecimalField(label=_("amount off"), required=False, min_value=0, decimal_places=2)
    max_units_per_line = forms.IntegerField(label=_("units a line at this price"), required=False)
    buy = forms.IntegerField(label=_("buy"), required=False)
    get = forms.IntegerField(label=_("get"), required=False)
    components = forms.CharField(
        label=_("bundle components"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line: SKU and units (TEA-1 2)."),
    )
    with_order_offers = forms.BooleanField(
        label=_("lines still count toward order offers"), required=False, initial=True
    )
    with_coupons = forms.BooleanField(label=_("coupons may join"), required=False, initial=True)
    per_customer_limit = forms.IntegerField(label=_("uses a customer"), required=False)
    total_limit = forms.IntegerField(label=_("uses in total"), required=False)
    units_cap = forms.IntegerField(label=_("units at this price in total"), required=False)

    @classmethod
    def of(cls, promotion: Promotion) -> PromotionForm:
        tiers = "\n".join(
            f"{t['threshold']} {t['amount_off']}" if t.get("amount_off") else f"{t['threshold']} {t['percent_off']}%"
            for t in promotion.tiers
        )
        initial = {name: getattr(promotion, name) for name in cls.base_fields if hasattr(promotion, name)}
        initial.update(
            level_codes=", ".join(promotion.level_codes),
            channels=", ".join(promotion.channels),
            skus=", ".join(promotion.skus),
            categories=", ".join(promotion.categories),
            tiers=tiers,
            components="\n".join(f"{sku} {units}" for sku, units in promotion.components),
        )
        return cls(initial=initial)

    def clean_tiers(self) -> list[dict[str, str | None]]:
        tiers = []
        for number, row in enumerate(self.cleaned_data["tiers"].splitlines(), start=1):
            parts = row.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(_("Line %(n)s: a threshold and what it takes off.") % {"n": number})
            threshold, off = parts
            if off.endswith("%"):
                tiers.append({"threshold": threshold, "amount_off": None, "percent_off": off.rstrip("%")})
            else:
                tiers.append({"threshold": threshold, "amount_off": off, "percent_off": None})
        return tiers

    def clean_components(self) -> list[list[Any]]:
        parts = []
        for number, row in enumerate(self.cleaned_data["components"].splitlines(), start=1):
            bits = row.split()
            if not bits:
                continue
            if len(bits) != 2 or not bits[1].isdigit():
                raise forms.ValidationError(_("Line %(n)s: a SKU and a number of units.") % {"n": number})
            parts.append([bits[0], int(bits[1])])
        return parts

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("level_codes", "channels", "skus", "categories"):
            data[name] = _names(data[name])
        return data


class PreviewForm(forms.Form):
    lines = forms.CharField(
        label=_("Cart"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One line each: SKU, quantity, unit price and, optionally, category (TEE-1 2 99 tops)."),
    )
    level_code = forms.CharField(label=_("Shopper's level"), required=False, max_length=60)
    is_new = forms.BooleanField(label=_("New customer"), required=False)
    channel = forms.CharField(label=_("Channel"), required=False, max_length=40)

    def clean_lines(self) -> list[CartLine]:
        lines = []
        for number, row in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            bits = row.split()
            if not bits:
                continue
            try:
                quantity, unit = int(bits[1]), Decimal(bits[2])
            except (IndexError, ValueError, InvalidOperation):
                raise forms.ValidationError(
                    _("Line %(n)s: a SKU, a quantity and a unit price.") % {"n": number}
                ) from None
            if quantity < 1 or unit < 0 or len(bits) > 4:
                raise forms.ValidationError(_("Line %(n)s: a SKU, a quantity and a unit price.") % {"n": number})
            lines.append(CartLine(bits[0], quantity, unit.quantize(Decimal("0.01")), bits[3] if len(bits) == 4 else ""))
        if not lines:
            raise forms.ValidationError(_("Enter at least one line."))
        if len(lines) > 200:
            raise forms.ValidationError(_("At most 200 lines."))
        return lines
