"""Turning raw profile input (API, console form, import row) into clean values, or field errors.

One cleaner serves every entry point so that a phone accepted by the API is accepted by the
importer too. Lookups of stores and owners go through small caches so that an import of
100,000 rows does not query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.core import pii
from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers.models import Channel, Customer, CustomFieldDefinition, Gender, MemberStatus, Store

PROFILE_FIELDS = [
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "id_number",
    "city",
    "member_status",
    "registered_at",
    "registration_channel",
    "store",
    "owner",
    "custom_fields",
]
PII_FIELDS = {"phone", "email", "id_number"}
_BLANK = (None, "")


class LookupCache:
    """Stores, owners and custom field definitions, loaded once per cleaning session."""

    def __init__(self) -> None:
        self._stores_by_id: dict[int, Store] | None = None
        self._stores_by_code: dict[str, Store] | None = None
        self._owners: dict[str, int] | None = None
        self._definitions: dict[str, CustomFieldDefinition] | None = None

    def _load_stores(self) -> None:
        stores = list(Store.objects.all())
        self._stores_by_id = {s.pk: s for s in stores}
        self._stores_by_code = {s.code: s for s in stores}

    def store(self, value: Any) -> Store | None:
        if self._stores_by_id is None:
            self._load_stores()
        assert self._stores_by_id is not None and self._stores_by_code is not None
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return self._stores_by_id.get(int(value)) or self._stores_by_code.get(str(value))
        return self._stores_by_code.get(str(value))

    def owner_id(self, value: Any) -> int | None:
        if self._owners is None:
            users = get_user_model().objects.filter(is_active=True).values_list("pk", "username")
            self._owners = {}
            for pk, username in users:
                self._owners[str(pk)] = pk
                self._owners[username] = pk
        return self._owners.get(str(value))

    def definitions(self) -> dict[str, CustomFieldDefinition]:
        if self._definitions is None:
            self._definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
        return self._definitions


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    parsed = parse_date(str(value).strip())
    if parsed is None:
        raise ValueError("expected a date such as 1990-05-17")
    return parsed


def clean_custom_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Validate one custom field value against its definition; return the JSON-ready value."""
    kind = CustomFieldDefinition.FieldType
    if value in _BLANK or value == []:
        if definition.required:
            raise ValueError("this field is required")
        return None
    if definition.field_type == kind.TEXT:
        text = str(value).strip()
        if len(text) > definition.max_length:
            raise ValueError(f"at most {definition.max_length} characters")
        return text
    if definition.field_type == kind.INTEGER:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("expected a whole number") from exc
        if number != number.to_integral_value():
            raise ValueError("expected a whole number")
        return int(number)
    if definition.field_type == kind.DECIMAL:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("expected a number") from exc
        if not number.is_finite():
            raise ValueError("expected a number")
        return str(number)
    if definition.field_type == kind.DATE:
        return _parse_date(value).isoformat()
    if definition.field_type == kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "y", "是"}:
            return True
        if text in {"false", "no", "0", "n", "否"}:
            return False
        raise ValueError("expected yes or no")
    if definition.field_type == kind.CHOICE:
        text = str(value).strip()
        if text not in definition.choices:
            raise ValueError(f"expected one of: {', '.join(map(str, definition.choices))}")
        return text
    if definition.field_type == kind.MULTI_CHOICE:
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split("|") if v.strip()]
        bad = [str(v) for v in items if v not in definition.choices]
        if bad:
            raise ValueError(f"not in the list: {', '.join(bad)}")
        return sorted(set(items), key=list(definition.choices).index)
    raise ValueError(f"unknown field type {definition.field_type}")


def clean_profile(
    data: Mapping[str, Any],
    *,
    instance: Customer | None = None,
    cache: LookupCache | None = None,
    field_prefix: str = "",
) -> dict[str, Any]:
    """Clean the given fields (only those present). Raise ``InvalidInput`` naming every bad field.

    Returns model-ready values: ``store`` becomes ``store_id``, ``owner`` becomes ``owner_id``,
    ``custom_fields`` is the merged dictionary, personal data comes with its blind index.
    """
    cache = cache or LookupCache()
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []

    def fail(field: str, message: str, code: str = "invalid") -> None:
        errors.append(FieldError(f"{field_prefix}{field}", code, message))

    unknown = [key for key in data if key not in PROFILE_FIELDS]
    for key in unknown:
        fail(key, "unknown field", "unknown_field")

    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            fail("name", "a customer needs a name", "required")
        elif len(name) > 120:
            fail("name", "at most 120 characters", "too_long")
        else:
            cleaned["name"] = name

    if "gender" in data:
        gender = str(data["gender"] or "").strip().lower()
        if gender not in Gender.values:
            fail("gender", f"expected one of: {', '.join(v for v in Gender.values if v)} or empty")
        else:
            cleaned["gender"] = gender

    if "birthday" in data:
        if data["birthday"] in _BLANK:
            cleaned["birthday"] = None
        else:
            try:
                birthday = _parse_date(data["birthday"])
                if birthday > timezone.now().date() or birthday.year < 1900:
                    fail("birthday", "a birthday lies between 1900 and today")
                else:
                    cleaned["birthday"] = birthday
            except ValueError as exc:
                fail("birthday", str(exc))

    if "phone" in data:
        if data["phone"] in _BLANK:
            cleaned["phone"], cleaned["phone_index"] = "", None
        else:
            try:
                phone = pii.normalise_phone(str(data["phone"]))
                cleaned["phone"], cleaned["phone_index"] = phone, pii.phone_index(phone)
            except ValidationError as exc:
                fail("phone", str(exc.message % exc.params if exc.params else exc.message))

    if "email" in data:
        if data["email"] in _BLANK:
            cleaned["email"], cleaned["email_index"] = "", None
        else:
            try:
                email = pii.normalise_email(str(data["email"]))
                if len(email) > 254:
                    raise ValidationError("an email address has at most 254 characters")
                cleaned["email"], cleaned["email_index"] = email, pii.email_index(email)
            except ValidationError as exc:
                fail("email", str(exc.message % exc.params if exc.params else exc.message))

    if "id_number" in data:
        if data["id_number"] in _BLANK:
            cleaned["id_number"], cleaned["id_number_index"] = "", None
        else:
            try:
                number = pii.normalise_id_number(str(data["id_number"]))
                cleaned["id_number"], cleaned["id_number_index"] = number, pii.id_number_index(number)
            except ValidationError as exc:
                fail("id_number", str(exc.message))

    if "city" in data:
        city = str(data["city"] or "").strip()
        if len(city) > 80:
            fail("city", "at most 80 characters", "too_long")
        else:
            cleaned["city"] = city

    if "member_status" in data:
        status = str(data["member_status"] or "").strip() or MemberStatus.MEMBER
        if status not in MemberStatus.values:
            fail("member_status", f"expected one of: {', '.join(MemberStatus.values)}")
        else:
            cleaned["member_status"] = status

    if "registered_at" in data and data["registered_at"] not in _BLANK:
        try:
            registered_at = parse_aware_datetime(data["registered_at"])
            if registered_at > timezone.now() + dt.timedelta(minutes=5):
                fail("registered_at", "cannot be in the future")
            else:
                cleaned["registered_at"] = registered_at
        except ValueError as exc:
            fail("registered_at", str(exc))
    elif instance is None:
        cleaned["registered_at"] = timezone.now()

    if "registration_channel" in data:
        channel = str(data["registration_channel"] or "").strip() or Channel.WEB
        if channel not in Channel.values:
            fail("registration_channel", f"expected one of: {', '.join(Channel.values)}")
        else:
            cleaned["registration_channel"] = channel

    if "store" in data:
        if data["store"] in _BLANK:
            cleaned["store_id"] = None
        else:
            store = cache.store(data["store"])
            if store is None:
                fail("store", f"no store {data['store']!r}", "not_found")
            else:
                cleaned["store_id"] = store.pk

    if "owner" in data:
        if data["owner"] in _BLANK:
            cleaned["owner_id"] = None
        else:
            owner_id = cache.owner_id(data["owner"])
            if owner_id is None:
                fail("owner", f"no active staff user {data['owner']!r}", "not_found")
            else:
                cleaned["owner_id"] = owner_id

    definitions = cache.definitions()
    if "custom_fields" in data or instance is None:
        given = data.get("custom_fields") or {}
        if not isinstance(given, Mapping):
            fail("custom_fields", "expected an object of field keys and values")
        else:
            merged = dict(instance.custom_fields) if instance is not None else {}
            for key, value in given.items():
                definition = definitions.get(key)
                if definition is None:
                    fail(f"custom_fields.{key}", "no such custom field", "unknown_field")
                    continue
                try:
                    clean_value = clean_custom_value(definition, value)
                except ValueError as exc:
                    fail(f"custom_fields.{key}", str(exc))
                    continue
                if clean_value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = clean_value
            for key, definition in definitions.items():
                if definition.required and key not in merged and instance is None:
                    fail(f"custom_fields.{key}", "this field is required", "required")
            cleaned["custom_fields"] = merged

    if errors:
        raise InvalidInput(errors)
    return cleaned
