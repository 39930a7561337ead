"""Console forms for tags. They collect input; the services validate it, so the console and the
API accept and refuse exactly the same values."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.errors import DomainError
from rapport.customers.models import Store
from rapport.tags.models import Tag, TagBatch, TagCategory


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    description = forms.CharField(label=_("Description"), required=False)
    position = forms.IntegerField(label=_("Position"), required=False, min_value=0)

    def data_for_service(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        data.setdefault("name", "")
        return data


class TagForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)
    name = forms.CharField(label=_("Name"), required=False)
    type = forms.ChoiceField(label=_("Type"), choices=Tag.Type.choices, required=False)
    colour = forms.CharField(label=_("Colour"), required=False, widget=forms.TextInput(attrs={"type": "color"}))
    description = forms.CharField(label=_("Description"), required=False)
    store = forms.ChoiceField(label=_("Scope"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    rule = forms.CharField(
        label=_("Rule (automatic tags)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text=_('A segment rule in JSON, e.g. {"type": "orders", "metric": "count", "op": "gte", "value": 3}'),
    )

    def __init__(self, *args: Any, instance: Tag | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "category": instance.category_id,
                    "name": instance.name,
                    "type": instance.type,
                    "colour": instance.colour,
                    "description": instance.description,
                    "store": instance.store_id or "",
                    "is_active": instance.is_active,
                    "rule": json.dumps(instance.rule, ensure_ascii=False, indent=2) if instance.rule else "",
                },
            )
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [(c.pk, c.name) for c in TagCategory.objects.all()]
        store = self.fields["store"]
        assert isinstance(store, forms.ChoiceField)
        store.choices = [("", _("All stores")), *[(s.pk, s.name) for s in Store.objects.filter(is_active=True)]]
        if instance is not None:
            self.fields["type"].disabled = True

    def rule_value(self) -> Any:
        """The rule as JSON, or a form error when it does not parse."""
        text = (self.cleaned_data.get("rule") or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.add_error("rule", _("Not valid JSON: %(error)s") % {"error": exc.msg})
            return None

    def data_for_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "category": data.get("category") or None,
            "name": data.get("name") or "",
            "description": data.get("description") or "",
            "colour": data.get("colour") or "#5b6b8c",
            "store": data.get("store") or None,
            "is_active": bool(data.get("is_active")),
        }
        if self.instance is None:
            values["type"] = data.get("type") or Tag.Type.MANUAL
        kind = values.get("type", getattr(self.instance, "type", Tag.Type.MANUAL))
        if kind == Tag.Type.AUTOMATIC:
            values["rule"] = self.rule_value()
        return values

    def add_service_errors(self, exc: DomainError) -> None:
        for error in exc.errors:
            name = error.field.split(".")[0]
            message = error.message if error.field == name else f"{error.field}: {error.message}"
            self.add_error(name if name in self.fields else None, message)


class BatchFileForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.none())
    action = forms.ChoiceField(label=_("Action"), choices=TagBatch.Action.choices)
    file = forms.FileField(
        label=_("File of customer ids"),
        help_text=_("CSV or xlsx: one customer id or channel:external_id per row (a header row is optional)"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tag = self.fields["tag"]
        assert isinstance(tag, forms.ModelChoiceField)
        tag.queryset = manual_tags()


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    url = forms.CharField(label=_("URL"), required=False, help_text=_("The receiver's https address"))
    max_attempts = forms.IntegerField(label=_("Attempts before dead letter"), required=False, min_value=1, initial=8)


def manual_tags() -> Any:
    return Tag.objects.filter(type=Tag.Type.MANUAL, is_active=True).select_related("category")
