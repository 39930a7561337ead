"""The audit log in words: a model's name instead of ``app.model``, a link to the object, each
change as "field label: before → after" with choice values translated, never a Python dict.

Entries are written by every app in its own shape (``{field: [old, new]}``, ``{"from", "to"}``,
plain values); this reads them all through the models' own metadata (verbose names, choices),
so a new model needs no change here, and only an object type's page needs a line in ``PAGES``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.audit.models import AuditEntry

PAGES = {
    "customers.customer": "customers:detail",
    "segments.segment": "segments:detail",
    "tags.tag": "tags:detail",
    "campaigns.plan": "campaigns:detail",
    "service.ticket": "service:ticket",
    "loyalty.coupontemplate": "loyalty:coupon_template",
}
"""The console page of an object type, by URL name taking the object's id."""

KEY_LABELS: dict[str, Any] = {
    "fields": gettext_lazy("Fields"),
    "count": gettext_lazy("Count"),
    "identity_added": gettext_lazy("Identity added"),
    "scopes": gettext_lazy("Scopes"),
    "revoked": gettext_lazy("Revoked"),
    "created": gettext_lazy("Created"),
    "duplicate_of": gettext_lazy("Duplicate of"),
    "exited": gettext_lazy("Left the plan"),
    "dropped": gettext_lazy("Messages dropped"),
    "role": gettext_lazy("Role"),
    "test_send_to": gettext_lazy("Test sent to"),
    "steps": gettext_lazy("Steps"),
}
"""Labels of the keys apps write that are not a field of the object's model."""


RULE_KEYS = {"all", "any", "not", "type"}


@dataclass
class Readable:
    entry: AuditEntry
    type_label: str
    url: str = ""
    rows: list[tuple[str, str, bool]] = field(default_factory=list)
    """(label, text, whether the label is a raw key no model names, shown in code type)"""


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, key: str) -> Any:
    if model is None:
        return None
    names = {f.name for f in model._meta.get_fields()}
    found = next((name for name in (key, key.removesuffix("_id")) if name in names), None)
    return model._meta.get_field(found) if found else None


class _Labels:
    """Labels of keys for one page of entries (custom fields read once)."""

    def __init__(self) -> None:
        self._custom: dict[str, str] | None = None

    def custom(self, key: str) -> str:
        if self._custom is None:
            definitions = _model("customers.customfielddefinition")
            rows = definitions._default_manager.values_list("key", "label") if definitions else []
            self._custom = dict(rows)
        return self._custom.get(key, key)

    def key(self, model: type[models.Model] | None, key: str) -> str:
        if key.startswith("custom_fields."):
            name = key.split(".", 1)[1]
            return f"{_('Custom field')}: {self.custom(name)}"
        found = _field(model, key)
        if found is not None and getattr(found, "verbose_name", None):
            return str(capfirst(found.verbose_name))
        if found is not None and found.is_relation and found.related_model is not None:  # a reverse relation
            return str(capfirst(found.related_model._meta.verbose_name_plural))
        if key in KEY_LABELS:
            return str(KEY_LABELS[key])
        return key  # a key no model names: shown as written, in code type


def value_text(value: Any, model_field: Any = None) -> str:
    """One stored value as words: a choice's label, yes/no, a list joined, — for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(value_text(v, model_field) for v in value)
    if isinstance(value, dict):
        if RULE_KEYS & set(value):  # a segment or tag rule: its JSON, as the advanced view shows it
            return json.dumps(value, ensure_ascii=False)
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    choices = dict(getattr(model_field, "flatchoices", None) or ())
    if choices and value in choices:
        return str(choices[value])
    return str(value)


def _change_text(action: str, value: Any, model_field: Any) -> str:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{value_text(value['from'], model_field)} → {value_text(value['to'], model_field)}"
    if action == AuditEntry.Action.UPDATE and isinstance(value, list) and len(value) == 2:
        return f"{value_text(value[0], model_field)} → {value_text(value[1], model_field)}"
    return value_text(value, model_field)


def readable(entries: list[AuditEntry]) -> list[Readable]:
    labels = _Labels()
    shown = []
    for entry in entries:
        model = _model(entry.object_type)
        type_label = str(capfirst(model._meta.verbose_name)) if model is not None else entry.object_type
        url = ""
        if entry.object_type in PAGES and entry.object_id.isdigit() and entry.action != AuditEntry.Action.DELETE:
            try:
                url = reverse(PAGES[entry.object_type], args=[int(entry.object_id)])
            except NoReverseMatch:
                url = ""
        changes: Mapping[str, Any] = entry.changes if isinstance(entry.changes, dict) else {"": entry.changes}
        rows = []
        for key, value in changes.items():
            model_field = _field(model, key)
            if key == "fields" and isinstance(value, list):  # a reveal: which fields were shown
                text = ", ".join(labels.key(model, str(name)) for name in value)
            else:
                text = _change_text(entry.action, value, model_field)
            label = labels.key(model, key) if key else ""
            rows.append((label, text, bool(key) and label == key))
        shown.append(Readable(entry, type_label, url, rows))
    return shown
