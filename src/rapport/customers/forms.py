"""Console forms. They only collect input: the services validate it, so the console, the API
and the importer accept and refuse exactly the same values."""

from __future__ import annotations

import zoneinfo
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
    lunar_birthday = forms.BooleanField(label=_("Celebrates by the lunar calendar (农历)"), required=False)
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
            "lunar_birthday": instance.lunar_birthday,
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
        for field in (
            "name",
            "gender",
            "birthday",
            "lunar_birthday",
            "city",
            "member_status",
            "registration_channel",
            "store",
        ):
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


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class StoreForm(forms.Form):
    """Every field ``POST /stores`` accepts. Length limits the service leaves to the database
    (city) are checked here so that a long value is a field error, not a database error."""

    code = forms.CharField(label=_("Code"), required=False, help_text=_("Letters, digits, - and _; e.g. sh-01."))
    name = forms.CharField(label=_("Name"), required=False)
    city = forms.CharField(label=_("City"), required=False, max_length=80)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices, initial="Asia/Shanghai")
    currency = forms.CharField(label=_("Currency"), required=False, initial="CNY")
    is_online = forms.BooleanField(label=_("Online store"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: Store | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {field: getattr(instance, field) for field in self.base_fields}
        super().__init__(*args, **kwargs)

    def store_data(self) -> dict[str, Any]:
        return {field: self.cleaned_data.get(field) for field in self.fields}

    def add_service_errors(self, exc: DomainError) -> None:
        _add_service_errors(self, exc)


class CustomFieldForm(forms.Form):
    """Every field ``POST /custom-fields`` accepts. Key and type are fixed once the field
    exists, as the API says: on an existing field they are shown but not sent."""

    FIXED_AFTER_CREATION = ("key", "field_type")

    key = forms.CharField(
        label=_("Key"), required=False, help_text=_("Lower-case letters, digits and _; fixed once created.")
    )
    label = forms.CharField(label=_("Label"), required=False, max_length=100)
    field_type = forms.ChoiceField(
        label=_("Type"), choices=CustomFieldDefinition.FieldType.choices, help_text=_("Fixed once created.")
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line; for the “one of a list” and “several of a list” types."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    max_length = forms.IntegerField(label=_("Maximum length"), min_value=1, max_value=10000, initial=200)
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=200)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: CustomFieldDefinition | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            initial = {field: getattr(instance, field) for field in self.base_fields}
            initial["choices"] = "\n".join(instance.choices)
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        if instance is not None:
            for field in self.FIXED_AFTER_CREATION:
                self.fields[field].disabled = True

    def definition_data(self) -> dict[str, Any]:
        data = {field: self.cleaned_data.get(field) for field in self.fields if not self.fields[field].disabled}
        data["choices"] = [line.strip() for line in (data.get("choices") or "").splitlines() if line.strip()]
        return data

    def add_service_errors(self, exc: DomainError) -> None:
        _add_service_errors(self, exc)


def _add_service_errors(form: forms.Form, exc: DomainError) -> None:
    """Put each service error beside the field it names; the rest above the form."""
    for error in exc.errors:
        form.add_error(error.field if error.field in form.fields else None, error.message)
