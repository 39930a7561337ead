"""The customer conditions of the segment rule language, registered by the customers app::

    {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    {"type": "custom_field", "key": "tier", "op": "in", "value": ["gold"]}
    {"type": "store", "op": "in", "value": ["sh-01"]}
    {"type": "owner", "op": "eq", "value": "seller"}
    {"type": "consent", "channel": "email", "purpose": "marketing", "granted": true}

Consent's "granted" means the decision in force, defaults included (marketing: no; service: yes),
so a segment of "who may receive marketing email" is exactly who a campaign may send to. See
``docs/segment-rules.md`` for every field and operator.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    In,
)
from django.utils.translation import gettext_lazy as _

from rapport.core import shredding
from rapport.customers.consent import DEFAULT_GRANTED, consenting_q
from rapport.customers.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Customer,
    CustomFieldDefinition,
    Identity,
    Store,
    identity_index_of,
    identity_is_personal,
)
from rapport.segments import operators as ops
from rapport.segments.conditions import (
    PROFILE_FIELDS,
    JsonArrayHas,
    JsonArrayLength,
    JsonKind,
    JsonText,
    as_list,
    choice_fields,
    model_entity,
    operand_fields,
    subject_entry,
    years_before,
)
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
    register_source,
)

MAX_AGE = 150


def _age_q(op: str, value: Any, now: dt.datetime) -> Q:
    """Age in whole years, as bounds on the birthday (so the birthday index serves it)."""
    today = now.date()

    def at_least(age: int) -> Q:
        return Q(birthday__lte=years_before(today, age))

    def at_most(age: int) -> Q:
        return Q(birthday__gt=years_before(today, age + 1))

    if op == "is_set":
        return Q(birthday__isnull=False)
    if op == "is_not_set":
        return Q(birthday__isnull=True)
    if op == "between":
        return at_least(int(Decimal(value[0]))) & at_most(int(Decimal(value[1])))
    age = int(Decimal(value))
    return {
        "eq": at_least(age) & at_most(age),
        "neq": Q(birthday__isnull=True) | ~(at_least(age) & at_most(age)),
        "gt": at_least(age + 1),
        "gte": at_least(age),
        "lt": at_most(age - 1),
        "lte": at_most(age),
    }[op]


def age_on(birthday: dt.date | None, today: dt.date) -> int | None:
    if birthday is None:
        return None
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


class ProfileCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        field = condition.get("field")
        if field not in PROFILE_FIELDS:
            raise ops.fail(f"{path}.field", f"one of: {', '.join(PROFILE_FIELDS)}")
        kind, choices = PROFILE_FIELDS[field]
        op, value = ops.clean_operand(kind, condition.get("op"), condition.get("value"), path, [c for c, _ in choices])
        if field == "age" and value is not None and not all(0 <= int(Decimal(v)) <= MAX_AGE for v in as_list(value)):
            raise ops.fail(f"{path}.value", f"an age from 0 to {MAX_AGE}")
        return {"field": field, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        field, op, value = condition["field"], condition["op"], condition["value"]
        if field == "age":
            return _age_q(op, value, context.now)
        kind = PROFILE_FIELDS[field][0]
        return ops.operand_q(F(field), kind, op, value, context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        kind = PROFILE_FIELDS[condition["field"]][0]
        actual = self.actual(condition, facts, context)
        return ops.operand_matches(actual, kind, condition["op"], condition["value"], context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        customer, field = facts["customer"], condition["field"]
        return age_on(customer["birthday"], context.now.date()) if field == "age" else customer[field]


_CUSTOM_KIND: dict[str, str] = {
    CustomFieldDefinition.FieldType.TEXT: "text",
    CustomFieldDefinition.FieldType.INTEGER: "number",
    CustomFieldDefinition.FieldType.DECIMAL: "number",
    CustomFieldDefinition.FieldType.DATE: "date",
    CustomFieldDefinition.FieldType.BOOLEAN: "boolean",
    CustomFieldDefinition.FieldType.CHOICE: "choice",
    CustomFieldDefinition.FieldType.MULTI_CHOICE: "multi",
}


class CustomFieldCondition(ConditionType):
    """A merchant-defined profile field; the operators follow the field's type."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        key = condition.get("key")
        definition = CustomFieldDefinition.objects.filter(key=key).first() if isinstance(key, str) else None
        if definition is None:
            raise ops.fail(f"{path}.key", f"no custom field {key!r}")
        kind = _CUSTOM_KIND[definition.field_type]
        op, value = ops.clean_operand(kind, condition.get("op"), condition.get("value"), path, definition.choices)
        return {"key": key, "kind": kind, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        key, kind, op, value = condition["key"], condition["kind"], condition["op"], condition["value"]
        json_kind = JsonKind("custom_fields", key)
        if kind == "boolean":
            return Q(Exact(json_kind, "true" if op == "is_true" else "false"))
        if kind == "multi":
            if op in ("is_set", "is_not_set"):
                length = JsonArrayLength("custom_fields", key)
                return Q(GreaterThan(length, 0)) if op == "is_set" else Q(Exact(length, 0))
            parts = [Q(JsonArrayHas("custom_fields", key, v)) for v in value]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined | part if op == "contains_any" else combined & part
            return combined
        # whole numbers are kept as JSON numbers, decimals as JSON text ("38.5"); both validated
        readable = ["number", "string"] if kind == "number" else ["string"]
        text = Case(
            When(Q(In(json_kind, readable)), then=JsonText("custom_fields", key)),
            default=Value(None),
            output_field=TextField(),
        )
        if kind == "number":
            return ops.operand_q(Cast(text, FloatField()), kind, op, value, context.now)
        if kind == "date":
            return ops.operand_q(Cast(text, DateField()), "date", op, value, context.now)
        return ops.operand_q(text, kind, op, value, context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        return (facts["customer"]["custom_fields"] or {}).get(condition["key"])

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        kind, op, value = condition["kind"], condition["op"], condition["value"]
        actual = self.actual(condition, facts, context)
        if kind == "number":
            actual = actual if isinstance(actual, int | float | str) and not isinstance(actual, bool) else None
            try:
                actual = None if actual is None else Decimal(str(actual))
            except ArithmeticError:
                actual = None
        elif kind == "multi":
            actual = actual if isinstance(actual, list) else None
        elif kind != "boolean":
            actual = actual if isinstance(actual, str) else None
            if kind == "date" and actual:
                actual = dt.date.fromisoformat(actual)
        return ops.operand_matches(actual, kind, op, value, context.now)


class StoreCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        codes = list(Store.objects.values_list("code", flat=True))
        op, value = ops.clean_operand("choice", condition.get("op"), condition.get("value"), path, codes)
        if op in ("eq", "neq"):
            op, value = ("in" if op == "eq" else "not_in"), [value]
        return {"op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return ops.operand_q(F("store__code"), "choice", condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        actual = facts["customer"]["store_code"]
        return ops.operand_matches(actual, "choice", condition["op"], condition["value"], context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        return facts["customer"]["store_code"]


class OwnerCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        names = list(get_user_model().objects.values_list("username", flat=True))
        op, value = ops.clean_operand("choice", condition.get("op"), condition.get("value"), path, names)
        if op in ("eq", "neq"):
            op, value = ("in" if op == "eq" else "not_in"), [value]
        return {"op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        return ops.operand_q(F("owner__username"), "choice", condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        actual = facts["customer"]["owner_username"]
        return ops.operand_matches(actual, "choice", condition["op"], condition["value"], context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        return facts["customer"]["owner_username"]


def _customer_facts(ids: list[int]) -> dict[int, Any]:
    rows = Customer.objects.filter(pk__in=ids).values(
        "pk", *[f for f in PROFILE_FIELDS if f != "age"], "custom_fields", "store__code", "owner__username"
    )
    return {
        row["pk"]: {**row, "store_code": row["store__code"], "owner_username": row["owner__username"]} for row in rows
    }


PROFILE_LABELS: dict[str, Any] = {
    "name": _("Name"),
    "gender": _("Gender"),
    "birthday": _("Birthday"),
    "age": _("Age"),
    "city": _("City"),
    "member_status": _("Member status"),
    "registered_at": _("Registered"),
    "registration_channel": _("Registration channel"),
}


def profile_field_source() -> list[dict[str, Any]]:
    """Profile fields with their choices ("unknown", the empty value, is asked with "is not set")."""
    return [
        subject_entry(name, PROFILE_LABELS[name], kind, [(c, label) for c, label in choices if c])
        for name, (kind, choices) in PROFILE_FIELDS.items()
    ]


def custom_field_source() -> list[dict[str, Any]]:
    return [
        subject_entry(d.key, d.label, _CUSTOM_KIND[d.field_type], [(c, c) for c in d.choices or []])
        for d in CustomFieldDefinition.objects.filter(is_active=True).order_by("position", "key")
    ]


class ConsentCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        channel, purpose, granted = condition.get("channel"), condition.get("purpose"), condition.get("granted", True)
        if channel not in ConsentChannel.values:
            raise ops.fail(f"{path}.channel", f"one of: {', '.join(ConsentChannel.values)}")
        if purpose not in ConsentPurpose.values:
            raise ops.fail(f"{path}.purpose", f"one of: {', '.join(ConsentPurpose.values)}")
        if not isinstance(granted, bool):
            raise ops.fail(f"{path}.granted", "true or false")
        return {"channel": channel, "purpose": purpose, "granted": granted}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        allowed = consenting_q(condition["channel"], condition["purpose"])
        return allowed if condition["granted"] else ~allowed

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        return bool(self.actual(condition, facts, context) == condition["granted"])

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        decided: dict[tuple[str, str], bool] = facts["consents"]
        key = (condition["channel"], condition["purpose"])
        return decided.get(key, DEFAULT_GRANTED[ConsentPurpose(condition["purpose"])])


def _consent_facts(ids: list[int]) -> dict[int, Any]:
    decided: dict[int, dict[tuple[str, str], bool]] = defaultdict(dict)
    rows = Consent.objects.filter(customer_id__in=ids).values_list("customer_id", "channel", "purpose", "granted")
    for customer_id, channel, purpose, granted in rows:
        decided[customer_id][(channel, purpose)] = granted
    return {pk: decided.get(pk, {}) for pk in ids}


MEMBER_CODE_OPS = ("eq", "contains", "is_set", "is_not_set")


class MemberCodeCondition(ConditionType):
    """A member code or card number: one of the customer's identities (of one kind, or any).

    ``eq`` compares through the identities' blind index; ``contains`` reads only the ids stored
    readable (card numbers, :func:`~rapport.customers.models.identity_is_personal`): personal ids
    are sealed, and a part of one is never searched."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        channel = condition.get("channel") or ""
        if not isinstance(channel, str) or len(channel) > 40:
            raise ops.fail(f"{path}.channel", "a kind of code, such as member_card")
        if condition.get("op") not in MEMBER_CODE_OPS:
            raise ops.fail(f"{path}.op", f"one of: {', '.join(MEMBER_CODE_OPS)}")
        op, value = ops.clean_operand("text", condition.get("op"), condition.get("value"), path)
        return {"channel": channel, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        codes = Identity.objects.filter(customer=OuterRef("pk"))
        if condition["channel"]:
            codes = codes.filter(channel=condition["channel"])
        op, value = condition["op"], condition["value"]
        if op == "eq":
            codes = codes.filter(
                Q(external_index=identity_index_of(condition["channel"], value))
                if condition["channel"]
                else Q(external_index__in=[identity_index_of(channel, value) for channel in _channels_in_use()])
            )
        elif op == "contains":
            codes = codes.exclude(external_id__startswith=shredding.PREFIX).filter(
                ops.contains_q(F("external_id"), value)
            )
        held = Q(Exists(codes))
        return ~held if op == "is_not_set" else held

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        channel = condition["channel"]
        return [code for kind, code, _readable in facts["identities"] if not channel or kind == channel]

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        codes, op, value = self.actual(condition, facts, context), condition["op"], condition["value"]
        if op in ("is_set", "is_not_set"):
            return bool(codes) == (op == "is_set")
        if op == "contains":
            channel = condition["channel"]
            codes = [
                code for kind, code, readable in facts["identities"] if readable and (not channel or kind == channel)
            ]
        return any(ops.operand_matches(code, "text", op, value, context.now) for code in codes)


def _identity_facts(ids: list[int]) -> dict[int, Any]:
    held: dict[int, list[tuple[str, str, bool]]] = defaultdict(list)
    rows = Identity.objects.filter(customer_id__in=ids).order_by("pk")
    for customer_id, channel, code in rows.values_list("customer_id", "channel", "external_id"):
        held[customer_id].append((channel, code, not identity_is_personal(channel, code)))
    return {pk: held.get(pk, []) for pk in ids}


def _channels_in_use() -> list[str]:
    return list(Identity.objects.order_by("channel").values_list("channel", flat=True).distinct())


def _identity_channels() -> list[dict[str, Any]]:
    channels = Identity.objects.order_by("channel").values_list("channel", flat=True).distinct()[:50]
    return [{"value": channel, "label": channel} for channel in channels]


def _register_entities() -> None:
    register_entity(
        model_entity(
            "store",
            _("Store"),
            lambda: Store.objects.order_by("code"),
            value="code",
            search=("name", "code", "city"),
            show=lambda s: f"{s.name} ({s.code})",
            permission="customers.view_store",
        )
    )
    register_entity(
        model_entity(
            "staff",
            _("Staff member"),
            lambda: get_user_model().objects.filter(is_active=True).order_by("username"),
            value="username",
            search=("username", "first_name", "last_name"),
            show=lambda u: u.get_full_name() or u.get_username(),
            permission="customers.view_customer",
        )
    )


def register() -> None:
    _register_entities()
    register_facts("identities", _identity_facts)
    register_source("identity_channels", _identity_channels)
    register_condition(
        MemberCodeCondition(
            "member_code",
            _("Member code or card number"),
            facts=("identities",),
            fields=(
                Field("channel", _("Kind of code"), "choice", required=False, source="identity_channels"),
                Field(
                    "op",
                    _("Test"),
                    "choice",
                    choices=tuple((op, ops.OP_LABELS[op]) for op in MEMBER_CODE_OPS),
                ),
                Field("value", _("Code"), "text", required=False),
            ),
        )
    )
    register_facts("customer", _customer_facts)
    register_source("profile_fields", profile_field_source)
    register_source("custom_fields", custom_field_source)
    register_source(
        "stores", lambda: [{"value": s.code, "label": f"{s.name} ({s.code})"} for s in Store.objects.order_by("code")]
    )
    register_source(
        "owners",
        lambda: [
            {"value": u.get_username(), "label": u.get_full_name() or u.get_username()}
            for u in get_user_model().objects.filter(is_active=True).order_by("username")
        ],
    )
    register_condition(
        ProfileCondition(
            "profile", _("Profile field"), facts=("customer",), fields=operand_fields("field", "profile_fields")
        )
    )
    register_condition(
        CustomFieldCondition(
            "custom_field", _("Custom field"), facts=("customer",), fields=operand_fields("key", "custom_fields")
        )
    )
    register_condition(StoreCondition("store", _("Store"), facts=("customer",), fields=choice_fields("stores")))
    register_condition(OwnerCondition("owner", _("Owner"), facts=("customer",), fields=choice_fields("owners")))
    register_facts("consents", _consent_facts)
    register_condition(
        ConsentCondition(
            "consent",
            _("Consent"),
            facts=("consents",),
            fields=(
                Field("channel", _("Channel"), "choice", choices=tuple(ConsentChannel.choices)),
                Field("purpose", _("Purpose"), "choice", choices=tuple(ConsentPurpose.choices)),
                Field("granted", _("Given"), "boolean", default=True),
            ),
        )
    )
