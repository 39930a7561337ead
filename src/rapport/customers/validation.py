"""Turning raw profile input (API, console form, import row) into clean values, or field errors.

One cleaner serves every entry point so that a phone accepted by the API is accepted by the
importer too. Lookups of stores and owners go through small caches so that an import of
100,000 rows does not query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
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
    "lunar_birthday",
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
# cleaned even when absent: a new customer needs a name, and registers now unless told when
_ASKED_OF_EVERY_NEW_CUSTOMER = {"name", "registered_at"}
_BLANK = (None, "")
# the choices' values, read once: the enums build their lists anew on every read (a bulk import
# cleans thousands of profiles a second)
_GENDERS, _MEMBER_STATUSES, _CHANNELS = tuple(Gender.values), tuple(MemberStatus.values), tuple(Channel.values)


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


def _custom_text(definition: CustomFieldDefinition, value: Any) -> Any:
    text = str(value).strip()
    if len(text) > definition.max_length:
        raise ValueError(f"at most {definition.max_length} characters")
    return text


def _decimal_or_fail(value: Any, message: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(message) from exc


def _custom_integer(definition: CustomFieldDefinition, value: Any) -> Any:
    number = _decimal_or_fail(value, "expected a whole number")
    if number != number.to_integral_value():
        raise ValueError("expected a whole number")
    return int(number)


def _custom_decimal(definition: CustomFieldDefinition, value: Any) -> Any:
    number = _decimal_or_fail(value, "expected a number")
    if not number.is_finite():
        raise ValueError("expected a number")
    return str(number)


def _custom_date(definition: CustomFieldDefinition, value: Any) -> Any:
    return _parse_date(value).isoformat()


def _custom_boolean(definition: CustomFieldDefinition, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "y", "是"}:
        return True
    if text in {"false", "no", "0", "n", "否"}:
        return False
    raise ValueError("expected yes or no")


def _custom_choice(definition: CustomFieldDefinition, value: Any) -> Any:
    text = str(value).strip()
    if text not in definition.choices:
        raise ValueError(f"expected one of: {', '.join(map(str, definition.choices))}")
    return text


def _custom_multi_choice(definition: CustomFieldDefinition, value: Any) -> Any:
    items = value if isinstance(value, list) else [v.strip() for v in str(value).split("|") if v.strip()]
    bad = [str(v) for v in items if v not in definition.choices]
    if bad:
        raise ValueError(f"not in the list: {', '.join(bad)}")
    return sorted(set(items), key=list(definition.choices).index)


_CUSTOM_VALUE_CLEANERS: dict[str, Callable[[CustomFieldDefinition, Any], Any]] = {
    CustomFieldDefinition.FieldType.TEXT: _custom_text,
    CustomFieldDefinition.FieldType.INTEGER: _custom_integer,
    CustomFieldDefinition.FieldType.DECIMAL: _custom_decimal,
    CustomFieldDefinition.FieldType.DATE: _custom_date,
    CustomFieldDefinition.FieldType.BOOLEAN: _custom_boolean,
    CustomFieldDefinition.FieldType.CHOICE: _custom_choice,
    CustomFieldDefinition.FieldType.MULTI_CHOICE: _custom_multi_choice,
}


def clean_custom_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Validate one custom field value against its definition; return the JSON-ready value."""
    if value in _BLANK or value == []:
        if definition.required:
            raise ValueError("this field is required")
        return None
    clean = _CUSTOM_VALUE_CLEANERS.get(definition.field_type)
    if clean is None:
        raise ValueError(f"unknown field type {definition.field_type}")
    return clean(definition, value)


class _Rejected(Exception):
    """One profile field's value is refused: the message and the error code the caller reports."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _validation_message(exc: ValidationError) -> str:
    return str(exc.message % exc.params if exc.params else exc.message)


def _bounded_text(value: Any, limit: int) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise _Rejected(f"at most {limit} characters", "too_long")
    return text


def _one_of(value: Any, allowed: tuple[str, ...], *, default: str, blank_allowed: bool = False) -> str:
    chosen = str(value or "").strip() or default
    if chosen not in allowed:
        listed = ", ".join(v for v in allowed if v)
        raise _Rejected(f"expected one of: {listed} or empty" if blank_allowed else f"expected one of: {listed}")
    return chosen


def _clean_name(value: Any) -> dict[str, Any]:
    name = str(value or "").strip()
    if not name:
        raise _Rejected("a customer needs a name", "required")
    return {"name": _bounded_text(name, 120)}


def _clean_gender(value: Any) -> dict[str, Any]:
    return {"gender": _one_of(str(value or "").lower(), _GENDERS, default="", blank_allowed=True)}


def _clean_lunar_birthday(value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or value in _BLANK:
        return {"lunar_birthday": bool(value)}
    text = str(value).strip().lower()
    if text not in ("true", "false", "on", "off", "1", "0", "yes", "no"):
        raise _Rejected("true or false", "invalid")
    return {"lunar_birthday": text in ("true", "on", "1", "yes")}


def _clean_birthday(value: Any) -> dict[str, Any]:
    if value in _BLANK:
        return {"birthday": None}
    try:
        birthday = _parse_date(value)
    except ValueError as exc:
        raise _Rejected(str(exc)) from exc
    if birthday > timezone.now().date() or birthday.year < 1900:
        raise _Rejected("a birthday lies between 1900 and today")
    return {"birthday": birthday}


def _clean_phone(value: Any) -> dict[str, Any]:
    if value in _BLANK:
        return {"phone": "", "phone_index": None}
    try:
        phone = pii.normalise_phone(str(value))
    except ValidationError as exc:
        raise _Rejected(_validation_message(exc)) from exc
    return {"phone": phone, "phone_index": pii.phone_index(phone)}


def _clean_email(value: Any) -> dict[str, Any]:
    if value in _BLANK:
        return {"email": "", "email_index": None}
    try:
        email = pii.normalise_email(str(value))
    except ValidationError as exc:
        raise _Rejected(_validation_message(exc)) from exc
    if len(email) > 254:
        raise _Rejected("an email address has at most 254 characters")
    return {"email": email, "email_index": pii.email_index(email)}


def _clean_id_number(value: Any) -> dict[str, Any]:
    if value in _BLANK:
        return {"id_number": "", "id_number_index": None}
    try:
        number = pii.normalise_id_number(str(value))
    except ValidationError as exc:
        raise _Rejected(str(exc.message)) from exc
    return {"id_number": number, "id_number_index": pii.id_number_index(number)}


def _clean_city(value: Any) -> dict[str, Any]:
    return {"city": _bounded_text(value, 80)}


def _clean_member_status(value: Any) -> dict[str, Any]:
    return {"member_status": _one_of(value, _MEMBER_STATUSES, default=MemberStatus.MEMBER)}


def _clean_registration_channel(value: Any) -> dict[str, Any]:
    return {"registration_channel": _one_of(value, _CHANNELS, default=Channel.WEB)}


def _registered_at_cleaner(*, new: bool) -> Callable[[Any], dict[str, Any]]:
    """A new customer without a registration time registers now; a blank one leaves an existing one alone."""

    def clean(value: Any) -> dict[str, Any]:
        if value in _BLANK:
            return {"registered_at": timezone.now()} if new else {}
        try:
            registered_at = parse_aware_datetime(value)
        except ValueError as exc:
            raise _Rejected(str(exc)) from exc
        if registered_at > timezone.now() + dt.timedelta(minutes=5):
            raise _Rejected("cannot be in the future")
        return {"registered_at": registered_at}

    return clean


def _store_cleaner(cache: LookupCache) -> Callable[[Any], dict[str, Any]]:
    def clean(value: Any) -> dict[str, Any]:
        if value in _BLANK:
            return {"store_id": None}
        store = cache.store(value)
        if store is None:
            raise _Rejected(f"no store {value!r}", "not_found")
        return {"store_id": store.pk}

    return clean


def _owner_cleaner(cache: LookupCache) -> Callable[[Any], dict[str, Any]]:
    def clean(value: Any) -> dict[str, Any]:
        if value in _BLANK:
            return {"owner_id": None}
        owner_id = cache.owner_id(value)
        if owner_id is None:
            raise _Rejected(f"no active staff user {value!r}", "not_found")
        return {"owner_id": owner_id}

    return clean


def _merge_custom_fields(
    given: Mapping[str, Any],
    definitions: dict[str, CustomFieldDefinition],
    instance: Customer | None,
    fail: Callable[[str, str, str], None],
) -> dict[str, Any]:
    """The stored custom fields with the given ones applied (a blank value removes one)."""
    merged = dict(instance.custom_fields) if instance is not None else {}
    for key, value in given.items():
        definition = definitions.get(key)
        if definition is None:
            fail(f"custom_fields.{key}", "no such custom field", "unknown_field")
            continue
        try:
            clean_value = clean_custom_value(definition, value)
        except ValueError as exc:
            fail(f"custom_fields.{key}", str(exc), "invalid")
            continue
        if clean_value is None:
            merged.pop(key, None)
        else:
            merged[key] = clean_value
    if instance is None:
        for key, definition in definitions.items():
            if definition.required and key not in merged:
                fail(f"custom_fields.{key}", "this field is required", "required")
    return merged


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
    new = instance is None
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []

    def fail(field: str, message: str, code: str = "invalid") -> None:
        errors.append(FieldError(f"{field_prefix}{field}", code, message))

    for key in data:
        if key not in PROFILE_FIELDS:
            fail(key, "unknown field", "unknown_field")

    cleaners: list[tuple[str, Callable[[Any], dict[str, Any]]]] = [
        ("name", _clean_name),
        ("gender", _clean_gender),
        ("birthday", _clean_birthday),
        ("lunar_birthday", _clean_lunar_birthday),
        ("phone", _clean_phone),
        ("email", _clean_email),
        ("id_number", _clean_id_number),
        ("city", _clean_city),
        ("member_status", _clean_member_status),
        ("registered_at", _registered_at_cleaner(new=new)),
        ("registration_channel", _clean_registration_channel),
        ("store", _store_cleaner(cache)),
        ("owner", _owner_cleaner(cache)),
    ]
    for field, clean in cleaners:
        if field in data or (new and field in _ASKED_OF_EVERY_NEW_CUSTOMER):
            try:
                cleaned.update(clean(data.get(field)))
            except _Rejected as exc:
                fail(field, exc.message, exc.code)

    definitions = cache.definitions()
    if "custom_fields" in data or new:
        given = data.get("custom_fields") or {}
        if isinstance(given, Mapping):
            cleaned["custom_fields"] = _merge_custom_fields(given, definitions, instance, fail)
        else:
            fail("custom_fields", "expected an object of field keys and values")

    if errors:
        raise InvalidInput(errors)
    return cleaned
