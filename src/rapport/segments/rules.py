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
    """One input of a condition type, described for the console's rule builder.

    ``kind`` is how to ask for the value:

    * ``text``, ``number``, ``integer``, ``date``, ``boolean``: one value of that type;
      ``days``: a whole number of days (a window: how far back from now);
    * ``choice`` / ``multi``: one / several of ``choices``, or of the entries of the catalogue
      source named by ``source`` (``catalogue()["sources"][source]``, each ``{"value", "label"}``);
    * ``operator``: an operator for a subject. The subject is the entry of ``source`` whose
      ``value`` the condition's ``depends_on`` field holds, and the entry lists its
      ``operators``; without ``depends_on`` the operators are ``OPS_BY_KIND[operand_kind]``.
      ``catalogue()["operators"][op]`` gives each operator's label and value shape;
    * ``operand``: the value for the chosen operator: its shape comes from the operator
      (``none``: leave it out, ``one``, ``list``, ``pair`` ``[low, high]``, ``days``), its type
      and choices from the same subject (its ``kind`` and ``choices``) or ``operand_kind`` and
      ``source``;
    * ``scalar``: a text, a number or true/false (a JSON value: ``"88"`` is not ``88``);
    * ``filters``: a list of objects, each made of the fields in ``parts``.

    ``entity`` names a kind of record registered with :func:`register_entity` (``tag``,
    ``coupon_template``, ``product``…): the builder then offers a search by name through
    ``/api/v1/segments/lookup/<entity>`` instead of a list, and the JSON holds the entity's value
    (an id or a code). ``unit`` is shown after a number (``days``, ``CNY``, ``points``).
    """

    name: str
    label: str | Promise
    kind: str
    choices: tuple[tuple[str, str | Promise], ...] = ()
    required: bool = True
    source: str = ""
    depends_on: str = ""
    operand_kind: str = ""
    default: Any = None
    parts: tuple[Field, ...] = ()
    entity: str = ""
    unit: str | Promise = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": str(self.label),
            "kind": self.kind,
            "choices": [[value, str(label)] for value, label in self.choices],
            "required": self.required,
            "source": self.source,
            "depends_on": self.depends_on,
            "operand_kind": self.operand_kind,
            "default": self.default,
            "parts": [part.describe() for part in self.parts],
            "entity": self.entity,
            "unit": str(self.unit),
        }


@dataclass
class ConditionType:
    """A kind of condition. Subclasses implement :meth:`clean`, :meth:`q` and :meth:`matches`."""

    name: str
    label: str | Promise
    facts: tuple[str, ...] = ()
    fields: tuple[Field, ...] = field(default_factory=tuple)
    layout: str = ""
    """How the console's builder lays the condition out (see :func:`_builder_entry`); empty: from the fields."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        raise NotImplementedError

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        raise NotImplementedError

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        raise NotImplementedError

    def combine_key(self, condition: Mapping[str, Any]) -> Any:
        """Conditions of this type with the same key, side by side in an ``all`` group, may be
        compiled together by :meth:`q_combined` (e.g. order aggregates over one window become one
        ``GROUP BY … HAVING`` instead of one aggregate each). None: compile alone."""
        return None

    def q_combined(self, conditions: list[Mapping[str, Any]], context: Context) -> Q:
        raise NotImplementedError

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The customer's own value that the condition tested, for "why is this customer in the
        segment" (a number, a text, a list of names); None where the type shows none."""
        return None

    def describe(self) -> dict[str, Any]:
        """The type for a rule builder: its JSON ``type``, label and the fields of its JSON."""
        return {"type": self.name, "label": str(self.label), "fields": [f.describe() for f in self.fields]}


@dataclass(frozen=True)
class Entity:
    """A kind of record a condition names (tags, coupon templates…), found by name for the builder.

    ``search(text, limit)`` answers ``[{"value", "label"}]`` for a typed fragment (empty: the
    first ones); ``labels(values)`` names stored values, so a saved rule shows names, not ids.
    ``permission`` is the Django permission a console user needs to list them.
    """

    name: str
    label: str | Promise
    search: Callable[[str, int], list[dict[str, Any]]]
    labels: Callable[[list[Any]], dict[str, str]]
    permission: str = ""


_CONDITIONS: dict[str, ConditionType] = {}
_FACT_LOADERS: dict[str, FactLoader] = {}
_SOURCES: dict[str, Callable[[], list[dict[str, Any]]]] = {}
_ENTITIES: dict[str, Entity] = {}


def register_condition(condition_type: ConditionType) -> None:
    _CONDITIONS[condition_type.name] = condition_type


def register_facts(name: str, loader: FactLoader) -> None:
    """Give the reference evaluator a way to load one kind of fact for many customers."""
    _FACT_LOADERS[name] = loader


def unregister_condition(name: str) -> None:
    """Take a condition type out of the registry (a test-only app cleaning up after itself)."""
    _CONDITIONS.pop(name, None)


def register_entity(entity: Entity) -> None:
    _ENTITIES[entity.name] = entity


def entities() -> dict[str, Entity]:
    return dict(_ENTITIES)


def sources() -> dict[str, Callable[[], list[dict[str, Any]]]]:
    return dict(_SOURCES)


def register_source(name: str, loader: Callable[[], list[dict[str, Any]]]) -> None:
    """Give the rule builder a list it offers (stores, custom fields, tags…): ``loader()``
    returns entries ``{"value": ..., "label": ...}``, read afresh for every catalogue; an entry
    that is a subject of operators adds ``kind`` and ``choices``."""
    _SOURCES[name] = loader


def catalogue() -> dict[str, Any]:
    """Everything a rule builder needs, as JSON-ready data, in the user's language:

    ``conditions``
        every registered condition type, :meth:`ConditionType.describe`;
    ``operators``
        each operator's ``label`` and value ``shape`` (``none``, ``one``, ``list``, ``pair``,
        ``days``);
    ``kinds``
        the operators allowed for each value kind (``text``, ``choice``, ``number``, …);
    ``sources``
        the current lists behind choices: profile fields and custom fields (with their kind,
        choices and operators), stores, owners, categories, order metrics, event names, and
        whatever other apps register (tags);
    ``types``, ``op_labels``, ``value_shapes``
        the same, laid out for the console's builder: one entry per condition type with its
        subjects (or fields) and their operators already filled in.
    """
    from rapport.segments import operators as ops

    sources = {name: loader() for name, loader in sorted(_SOURCES.items())}
    for entries in sources.values():
        for entry in entries:
            if "kind" in entry and "operators" not in entry:
                entry["operators"] = list(ops.OPS_BY_KIND[entry["kind"]])
    value_shapes: dict[str, list[str]] = {}
    for op, shape in ops.OP_SHAPES.items():
        if shape != "one":
            value_shapes.setdefault(shape, []).append(op)
    return {
        "conditions": [condition.describe() for condition in _CONDITIONS.values()],
        "operators": {op: {"label": str(label), "shape": ops.OP_SHAPES[op]} for op, label in ops.OP_LABELS.items()},
        "kinds": {kind: list(allowed) for kind, allowed in ops.OPS_BY_KIND.items()},
        "sources": sources,
        "types": [{"type": c.name, "label": str(c.label), **_builder_entry(c, sources)} for c in _CONDITIONS.values()],
        "op_labels": {op: str(label) for op, label in ops.OP_LABELS.items()},
        "value_shapes": value_shapes,
        "entities": {name: str(entity.label) for name, entity in sorted(_ENTITIES.items())},
    }


def _pairs(entries: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(entry["value"]), str(entry["label"])] for entry in entries]


def _builder_entry(condition: ConditionType, sources: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One condition type laid out for the builder, from its fields and the sources they name.

    ``subject``: pick a subject (a profile field, an order measure…), then one of its operators,
    then a value; a type whose operator depends on no subject is its own single subject.
    ``event`` (``op``, ``name``, ``min_count``, ``where``) has a form of its own. Any other type
    is offered field by field: choices as dropdowns, an ``entity`` as a search by name, a number
    with its ``unit``, ``days`` as a window with presets.
    """
    from rapport.segments import operators as ops

    fields = {f.name: f for f in condition.fields}
    window = "window_days" in fields
    operator = next((f for f in condition.fields if f.kind == "operator"), None)
    others = set(fields) - {"window_days"} - {f.name for f in condition.fields if f.kind in ("operator", "operand")}
    subject_only = operator is not None and (others == {operator.depends_on} if operator.depends_on else not others)
    layout = condition.layout or ("subject" if subject_only else "fields")
    if layout == "subject" and operator is not None:
        if operator.depends_on:
            subjects = [
                {
                    "value": entry["value"],
                    "label": str(entry["label"]),
                    "kind": entry["kind"],
                    "choices": entry.get("choices", []),
                    "ops": entry["operators"],
                }
                for entry in sources.get(operator.source, [])
            ]
            return {"shape": "subject", "subject_key": operator.depends_on, "subjects": subjects, "window": window}
        operand = next((f for f in condition.fields if f.kind == "operand"), operator)
        only = {
            "value": condition.name,
            "label": str(condition.label),
            "kind": operator.operand_kind,
            "choices": _pairs(sources.get(operand.source, [])),
            "ops": list(ops.OPS_BY_KIND[operator.operand_kind]),
        }
        return {"shape": "subject", "subject_key": None, "subjects": [only], "window": window}
    if layout == "event":
        where = {part.name: part for part in fields["where"].parts}
        return {
            "shape": "event",
            "ops": [value for value, _label in fields["op"].choices],
            "events": [entry["value"] for entry in sources.get(fields["name"].source, [])],
            "properties": {e["value"]: e.get("properties", []) for e in sources.get(fields["name"].source, [])},
            "property_ops": [value for value, _label in where["op"].choices],
            "window": window,
        }
    described = []
    for f in condition.fields:
        entry = f.describe()
        if f.source and not entry["choices"]:
            entry["choices"] = _pairs(sources.get(f.source, []))
        described.append(entry)
    return {"shape": "generic", "fields": described, "window": False}


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
        combinable: dict[tuple[str, Any], list[Mapping[str, Any]]] = {}
        for part in rule["all"]:
            key = _CONDITIONS[part["type"]].combine_key(part) if "type" in part else None
            if key is None:
                q &= compile_rule(part, context)
            else:
                combinable.setdefault((part["type"], key), []).append(part)
        for (type_name, _key), together in combinable.items():
            condition_type = _CONDITIONS[type_name]
            if len(together) > 1:
                q &= condition_type.q_combined(together, context)
            else:
                q &= condition_type.q(together[0], context)
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
