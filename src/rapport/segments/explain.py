""" "Why is this customer in this segment": the rule's tree with each condition in words, the
customer's own value and whether it passed, from the reference evaluator (the same meaning as the
SQL, tested against it) on this one customer's facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rapport.segments import operators as ops
from rapport.segments import rules


@dataclass
class Step:
    """One node of an explained rule: a group (``all``/``any``/``not``) or a condition."""

    kind: str
    passed: bool
    text: str = ""
    actual: str = ""
    children: list[Step] = field(default_factory=list)


class _Namer:
    """Names the values of conditions: choices, source entries and entities, read once each."""

    def __init__(self) -> None:
        self.sources: dict[str, dict[str, dict[str, Any]]] = {}
        self.catalogue_sources = rules.sources()

    def source(self, name: str) -> dict[str, dict[str, Any]]:
        if name not in self.sources:
            loader = self.catalogue_sources.get(name)
            self.sources[name] = {str(e["value"]): e for e in (loader() if loader else [])}
        return self.sources[name]

    def values(self, f: rules.Field, value: Any, condition: Mapping[str, Any]) -> str:
        items = value if isinstance(value, list) else [value]
        names: dict[str, str] = {}
        if f.entity and f.entity in rules.entities():
            names = rules.entities()[f.entity].labels(items)
        elif f.choices:
            names = {str(v): str(label) for v, label in f.choices}
        elif f.kind == "operand" and f.depends_on:
            subject = self.source(f.source).get(str(condition.get(f.depends_on)), {})
            names = {str(v): str(label) for v, label in subject.get("choices", [])}
        elif f.source:
            names = {key: str(entry["label"]) for key, entry in self.source(f.source).items()}
        return ", ".join(names.get(str(item), show(item)) for item in items)


def show(value: Any) -> str:
    """A value as the reader sees it: dates in their zone, yes/no, lists joined, — for none."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, list | tuple | set):
        return ", ".join(show(v) for v in value)
    return str(value)


def describe(condition: Mapping[str, Any], namer: _Namer | None = None) -> str:
    """A cleaned condition in words: its type, then each field that holds a value."""
    namer = namer or _Namer()
    condition_type = rules.condition_types()[condition["type"]]
    words = [str(condition_type.label) + ":"]
    for f in condition_type.fields:
        value = condition.get(f.name)
        if value is None or value == "" or value == []:
            continue
        if f.kind == "operator":
            words.append(str(ops.OP_LABELS.get(value, value)))
        elif f.name == "window_days":
            words.append(_("within the last %(days)s days") % {"days": value})
        elif f.kind == "boolean":
            words.append(f"{f.label} {show(value)}")
        elif f.kind == "filters":
            words.append(str(f.label) + " " + "; ".join(" ".join(show(v) for v in part.values()) for part in value))
        else:
            named = namer.values(f, value, condition)
            words.append(f"{named} {f.unit}".strip() if f.unit else named)
    return " ".join(words)


def explain(rule: Mapping[str, Any], customer_id: int, *, now: dt.datetime | None = None) -> Step:
    """The cleaned ``rule`` evaluated for one customer, step by step."""
    context = rules.Context(now=now or timezone.now())
    facts = rules.load_facts([customer_id], rules.facts_needed(rule))[customer_id]
    return _explain(rule, facts, context, _Namer())


def _explain(rule: Mapping[str, Any], facts: rules.Facts, context: rules.Context, namer: _Namer) -> Step:
    for kind in ("all", "any"):
        if kind in rule:
            children = [_explain(part, facts, context, namer) for part in rule[kind]]
            passed = all(c.passed for c in children) if kind == "all" else any(c.passed for c in children)
            return Step(kind, passed, children=children)
    if "not" in rule:
        inner = _explain(rule["not"], facts, context, namer)
        return Step("not", not inner.passed, children=[inner])
    condition_type = rules.condition_types()[rule["type"]]
    passed = condition_type.matches(rule, facts, context)
    actual = condition_type.actual(rule, facts, context)
    subject = _subject_field(condition_type)
    shown = namer.values(subject, actual, rule) if subject is not None and actual is not None else show(actual)
    return Step("condition", passed, text=describe(rule, namer), actual=shown)


def _subject_field(condition_type: rules.ConditionType) -> rules.Field | None:
    """The field whose choices name the customer's value (an RFM segment's label, a store's name)."""
    return next((f for f in condition_type.fields if f.kind == "operand" and f.depends_on), None) or next(
        (f for f in condition_type.fields if f.kind == "operand" and f.source), None
    )
