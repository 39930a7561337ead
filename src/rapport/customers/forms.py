"""Console forms. They only collect input: the services validate it, so the console, the API
and the importer accept and refuse exactly the same values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rapport.core.errors import DomainError
from rapport.customers.models import Channel, Customer, CustomFieldDefinition, Gender, MemberStatus, Store

PII_FORM_FIELDS = ("phone", "email", "id_number")
CUSTOM_PREFIX = "cf_"


def _custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    kind = CustomFieldDefinition.FieldType
    common: dict[str, Any] = {"label": definition.label, "required": False, "help_text": definition.help_text}
    if definition.field_type == kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in definition.choices]], **common)
    if definition.field_type == kind.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in definition.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    if definition.field_type == kind.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))], **common)
    if definition.field_type == kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(**common)


class CustomerForm(forms.Form):
    """The profile with the merchant's custom fields. Personal data shows masked and is only
    changed when a new value is typed in."""

    name = forms.CharField(label=_("Name"), required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birthday = forms.CharField(label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(label=_("Phone"), required=False)
    email = forms.CharField(label=_("Email"), required=False)
    id_number = forms.CharField(label=_("ID number"), required=False)
    city = forms.CharField(label=_("City"), required=False)
    member_status = forms.ChoiceField(label=_("Member status"), choices=MemberStatus.choices, required=False)
    registration_channel = forms.ChoiceField(label=_("Registration channel"), choices=Channel.choices, required=False)
    store = forms.ChoiceField(label=_("Store"), required=False)

    def __init__(self, *args: Any, instance: Customer | None = None, **kwargs: Any) -> None:
        self.instance = instance
        kwargs["initial"] = self._initial(instance)
        super().__init__(*args, **kwargs)
        store_field = self.fields["store"]
        assert isinstance(store_field, forms.ChoiceField)
        store_field.choices = [("", "—"), *[(s.code, s.name) for s in Store.objects.filter(is_active=True)]]
        self.definitions = list(CustomFieldDefinition.objects.filter(is_active=True))
        for definition in self.definitions:
            self.fields[CUSTOM_PREFIX + definition.key] = _custom_form_field(definition)
        if instance is not None:
            for field in PII_FORM_FIELDS:
                masked = getattr(instance, f"masked_{field}")
                placeholder = _("%(masked)s — type to replace") % {"masked": masked} if masked else ""
                self.fields[field].widget.attrs["placeholder"] = placeholder

    @staticmethod
    def _initial(instance: Customer | None) -> dict[str, Any]:
        if instance is None:
            return {"member_status": MemberStatus.MEMBER, "registration_channel": Channel.STORE}
        initial: dict[str, Any] = {
            "name": instance.name,
            "gender": instance.gender,
            "birthday": instance.birthday.isoformat() if instance.birthday else "",
            "city": instance.city,
            "member_status": instance.member_status,
            "registration_channel": instance.registration_channel,
            "store": instance.store.code if instance.store else "",
        }
        for key, value in (instance.custom_fields or {}).items():
            initial[CUSTOM_PREFIX + key] = "true" if value is True else "false" if value is False else value
        return initial

    def custom_fields(self) -> list[forms.BoundField]:
        return [self[CUSTOM_PREFIX + d.key] for d in self.definitions]

    def profile_data(self) -> dict[str, Any]:
        """What the service should apply: changed fields only, blank personal data kept."""
        data = self.cleaned_data
        changed = set(self.changed_data)
        profile: dict[str, Any] = {}
        for field in ("name", "gender", "birthday", "city", "member_status", "registration_channel", "store"):
            if field in changed or self.instance is None:
                profile[field] = data.get(field)
        for field in PII_FORM_FIELDS:
            if data.get(field):
                profile[field] = data[field]
        custom = {
            d.key: data.get(CUSTOM_PREFIX + d.key)
            for d in self.definitions
            if CUSTOM_PREFIX + d.key in changed or self.instance is None
        }
        if custom:
            profile["custom_fields"] = custom
        return profile

    def add_service_errors(self, exc: DomainError) -> None:
        """Put each service error beside the field it names."""
        for error in exc.errors:
            name = error.field
            if name.startswith("custom_fields."):
                name = CUSTOM_PREFIX + name.removeprefix("custom_fields.")
            self.add_error(name if name in self.fields else None, error.message)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
