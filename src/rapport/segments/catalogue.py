"""What the console's rule builder may offer: every condition type, its subjects, operators and
value inputs, as JSON.

Built from the registry (``rules.condition_types()``) and the condition shapes documented in
``conditions.py``: the built-in types get a tailored form (pick a field, then an operator that
fits its kind, then a value input of the right kind); a type registered by another app that the
builder does not know is offered through its ``describe()`` fields, one input per field.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from rapport.commerce.models import Category
from rapport.customers.models import Channel, CustomFieldDefinition, Gender, MemberStatus, Store
from rapport.segments import operators as ops
from rapport.segments.rules import condition_types

OP_LABELS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "in": "is one of",
    "not_in": "is none of",
    "is_set": "is set",
    "is_not_set": "is not set",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "between",
    "before": "before",
    "after": "after",
    "within_last_days": "in the last … days",
    "more_than_days_ago": "more than … days ago",
    "contains_any": "contains any of",
    "contains_all": "contains all of",
    "is_true": "is yes",
    "is_false": "is no",
    "did": "did",
    "did_not": "did not",
}

_CUSTOM_KINDS: dict[str, str] = {
    CustomFieldDefinition.FieldType.TEXT: "text",
    CustomFieldDefinition.FieldType.INTEGER: "number",
    CustomFieldDefinition.FieldType.DECIMAL: "number",
    CustomFieldDefinition.FieldType.DATE: "date",
    CustomFieldDefinition.FieldType.BOOLEAN: "boolean",
    CustomFieldDefinition.FieldType.CHOICE: "choice",
    CustomFieldDefinition.FieldType.MULTI_CHOICE: "multi",
}
ORDER_NUMERIC_OPS = ("gt", "gte", "lt", "lte", "eq", "between")
EVENT_PROPERTY_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains")
COMMON_EVENTS = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Products Searched",
    "Page Viewed",
    "Signed Up",
]


def _subject(value: str, label: str, kind: str, choices: list[list[str]] | None = None, allowed: Any = None) -> dict:
    return {
        "value": value,
        "label": label,
        "kind": kind,
        "choices": choices or [],
        "ops": list(allowed or ops.OPS_BY_KIND[kind]),
    }


def _choices(pairs: Any) -> list[list[str]]:
    return [[str(v), str(label)] for v, label in pairs]


def _profile() -> dict[str, Any]:
    subjects = [
        _subject("name", _("Name"), "text"),
        _subject("gender", _("Gender"), "choice", _choices((v, label) for v, label in Gender.choices if v)),
        _subject("age", _("Age"), "integer"),
        _subject("birthday", _("Birthday"), "date"),
        _subject("city", _("City"), "text"),
        _subject("member_status", _("Member status"), "choice", _choices(MemberStatus.choices)),
        _subject("registered_at", _("Registered"), "datetime"),
        _subject("registration_channel", _("Registration channel"), "choice", _choices(Channel.choices)),
    ]
    return {"shape": "subject", "subject_key": "field", "subjects": subjects, "window": False}


def _custom_field() -> dict[str, Any]:
    subjects = []
    for definition in CustomFieldDefinition.objects.filter(is_active=True).order_by("position", "key"):
        kind = _CUSTOM_KINDS[definition.field_type]
        subjects.append(_subject(definition.key, definition.label, kind, [[c, c] for c in definition.choices]))
    return {"shape": "subject", "subject_key": "key", "subjects": subjects, "window": False}


def _store() -> dict[str, Any]:
    stores = [[s.code, f"{s.name} ({s.code})"] for s in Store.objects.order_by("code")]
    return {
        "shape": "subject",
        "subject_key": None,
        "subjects": [_subject("store", _("Store"), "choice", stores)],
        "window": False,
    }


def _owner() -> dict[str, Any]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    names = [[u.get_username(), u.get_username()] for u in users]
    return {
        "shape": "subject",
        "subject_key": None,
        "subjects": [_subject("owner", _("Owner"), "choice", names)],
        "window": False,
    }


def _orders() -> dict[str, Any]:
    subjects = [
        _subject("count", _("Number of orders"), "integer", allowed=ORDER_NUMERIC_OPS),
        _subject("sum", _("Amount spent"), "number", allowed=ORDER_NUMERIC_OPS),
        _subject("average", _("Average order value"), "number", allowed=ORDER_NUMERIC_OPS),
        _subject("last_order_at", _("Last order"), "datetime", allowed=ops.DATE_OPS),
    ]
    return {"shape": "subject", "subject_key": "metric", "subjects": subjects, "window": True}


def _bought() -> dict[str, Any]:
    categories = [[c.code, c.name] for c in Category.objects.order_by("name")]
    return {"shape": "bought", "ops": ["did", "did_not"], "categories": categories, "window": True}


def _event() -> dict[str, Any]:
    return {
        "shape": "event",
        "ops": ["did", "did_not"],
        "events": COMMON_EVENTS,
        "property_ops": list(EVENT_PROPERTY_OPS),
        "window": True,
    }


def _tag_choices() -> list[list[str]]:
    """Tags as ``[id, "Category/Name"]``; the tags app accepts either form in a rule."""
    try:
        tag_model = apps.get_model("tags", "Tag")
    except LookupError:
        return []
    tags = tag_model.objects.select_related("category").order_by("category__name", "name")
    return [[str(t.pk), f"{t.category.name}/{t.name}"] for t in tags]


def _with_choices(type_name: str, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill choices a registered type leaves open when the builder knows them (tags by name)."""
    if type_name != "tag":
        return fields
    return [{**f, "choices": _tag_choices()} if f["name"] == "tags" and not f["choices"] else f for f in fields]


_BUILDERS = {
    "profile": _profile,
    "custom_field": _custom_field,
    "store": _store,
    "owner": _owner,
    "orders": _orders,
    "bought": _bought,
    "event": _event,
}


def catalogue() -> dict[str, Any]:
    """Everything the builder needs, in the user's language."""
    types = []
    for name, condition_type in condition_types().items():
        described = condition_type.describe()
        build = _BUILDERS.get(name)
        entry = (
            build()
            if build
            else {"shape": "generic", "fields": _with_choices(name, described["fields"]), "window": False}
        )
        types.append({"type": name, "label": described["label"], **entry})
    return {
        "types": types,
        "op_labels": {op: _(label) for op, label in OP_LABELS.items()},
        "value_shapes": {
            "none": ["is_set", "is_not_set", "is_true", "is_false"],
            "list": ["in", "not_in", "contains_any", "contains_all"],
            "pair": ["between"],
            "days": ["within_last_days", "more_than_days_ago"],
        },
    }
