"""The segment rule language and its registry of condition types.

A rule is JSON::

    {"all": [<rule>, ...]}     every part holds (AND)
    {"any": [<rule>, ...]}     at least one part holds (OR)
    {"not": <rule>}            the part does not hold
    {"type": "<condition type>", ...}   one condition

nested to any depth. Condition types live in a registry: each domain app registers its own
(``profile``, ``orders`` and ``event`` here; ``tag`` in tags; RFM, CLV and loyalty ones in their
apps) from its ``AppConfig.ready``, and the compiler never needs to know them. A condition type
knows how to check its JSON, how to become a ``Q`` over customers (one SQL query, no Python loop)
and how to evaluate itself on plain Python facts (the reference the compiler is tested against).
See ``docs/segment-rules.md`` for every type and operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise

from rapport.core.errors import FieldError, InvalidInput

MAX_DEPTH = 12
MAX_CONDITIONS = 200


@dataclass(frozen=True)
class Context:
    """What a rule is evaluated against: the moment "now" (windows are relative to it)."""

    now: dt.datetime


Facts = Mapping[str, Any]
"""A customer's facts for the reference evaluator, by fact name (``customer``, ``orders``, …)."""

FactLoader = Callable[[list[int]], dict[int, Any]]


@dataclass(frozen=True)
class Field:
    """One input of a condition type, described for the console's rule builder."""

    name: str
    label: str | Promise
    kind: str  # text | number | integer | date | choice | multi | boolean | days
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = True


@dataclass
class ConditionType:
    """A kind of condition. Subclasses implement :meth:`clean`, :meth:`q` and :meth:`matches`."""

    name: str
    label: str | Promise
    facts: tuple[str, ...] = ()
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        raise NotImplementedError

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        raise NotImplementedError

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "label": str(self.label),
            "fields": [
                {
                    "name": f.name,
                    "label": str(f.label),
                    "kind": f.kind,
                    "choices": [[value, str(label)] for value, label in f.choices],
                    "required": f.required,
                }
                for f in self.fields
            ],
        }


_CONDITIONS: dict[str, ConditionType] = {}
_FACT_LOADERS: dict[str, FactLoader] = {}


def register_condition(condition_type: ConditionType) -> None:
    _CONDITIONS[condition_type.name] = condition_type


def register_facts(name: str, loader: FactLoader) -> None:
    """Give the reference evaluator a way to load one kind of fact for many customers."""
    _FACT_LOADERS[name] = loader


def condition_types() -> dict[str, ConditionType]:
    return dict(_CONDITIONS)


def fact_loaders() -> dict[str, FactLoader]:
    return dict(_FACT_LOADERS)


# Checking ---------------------------------------------------------------------------------


def clean_rule(rule: Any, path: str = "rule") -> dict[str, Any]:
    """The rule with every condition checked and normalised, or ``InvalidInput`` naming each
    bad part by its path (``rule.all.2.value``)."""
    errors: list[FieldError] = []
    counter = [0]
    cleaned = _clean(rule, path, 0, errors, counter)
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _clean(rule: Any, path: str, depth: int, errors: list[FieldError], counter: list[int]) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        errors.append(FieldError(path, "too_deep", f"groups nest at most {MAX_DEPTH} deep"))
        return {}
    if not isinstance(rule, dict):
        errors.append(FieldError(path, "invalid", "a rule is an object: a group (all/any/not) or a condition"))
        return {}
    groups = [key for key in ("all", "any", "not") if key in rule]
    if groups:
        if len(groups) > 1 or len(rule) > 1:
            errors.append(FieldError(path, "invalid", "a group has exactly one of all, any or not"))
            return {}
        key = groups[0]
        if key == "not":
            return {"not": _clean(rule["not"], f"{path}.not", depth + 1, errors, counter)}
        parts = rule[key]
        if not isinstance(parts, list) or not parts:
            errors.append(FieldError(f"{path}.{key}", "invalid", "a group lists at least one rule"))
            return {}
        return {key: [_clean(part, f"{path}.{key}.{i}", depth + 1, errors, counter) for i, part in enumerate(parts)]}
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        if counter[0] == MAX_CONDITIONS + 1:
            errors.append(FieldError(path, "too_many", f"a rule has at most {MAX_CONDITIONS} conditions"))
        return {}
    kind = rule.get("type")
    condition_type = _CONDITIONS.get(kind) if isinstance(kind, str) else None
    if condition_type is None:
        errors.append(FieldError(f"{path}.type", "invalid", f"one of: {', '.join(sorted(_CONDITIONS))}"))
        return {}
    try:
        return {"type": kind, **condition_type.clean(rule, path)}
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return {}


# Compiling and evaluating ------------------------------------------------------------------


def compile_rule(rule: Mapping[str, Any], context: Context) -> Q:
    """A cleaned rule as one ``Q`` over customers."""
    if "all" in rule:
        q = Q()
        for part in rule["all"]:
            q &= compile_rule(part, context)
        return q
    if "any" in rule:
        parts = [compile_rule(part, context) for part in rule["any"]]
        q = parts[0]
        for part in parts[1:]:
            q |= part
        return q
    if "not" in rule:
        return ~compile_rule(rule["not"], context)
    return _CONDITIONS[rule["type"]].q(rule, context)


def evaluate_rule(rule: Mapping[str, Any], facts: Facts, context: Context) -> bool:
    """The reference evaluator: the same rule, in plain Python, for one customer's facts."""
    if "all" in rule:
        return all(evaluate_rule(part, facts, context) for part in rule["all"])
    if "any" in rule:
        return any(evaluate_rule(part, facts, context) for part in rule["any"])
    if "not" in rule:
        return not evaluate_rule(rule["not"], facts, context)
    return _CONDITIONS[rule["type"]].matches(rule, facts, context)


def facts_needed(rule: Mapping[str, Any]) -> set[str]:
    if "all" in rule or "any" in rule:
        return set().union(*(facts_needed(part) for part in rule.get("all", rule.get("any", []))))
    if "not" in rule:
        return facts_needed(rule["not"])
    return set(_CONDITIONS[rule["type"]].facts)


def load_facts(customer_ids: Iterable[int], names: Iterable[str]) -> dict[int, dict[str, Any]]:
    ids = list(customer_ids)
    facts: dict[int, dict[str, Any]] = {pk: {} for pk in ids}
    for name in names:
        loaded = _FACT_LOADERS[name](ids)
        for pk in ids:
            facts[pk][name] = loaded.get(pk)
    return facts
