"""Building blocks the domains' segment conditions share: JSON-field expressions, aggregate
membership, comparisons (in SQL and in the reference evaluator), windows, builder fields and the
profile fields a rule can test.

The condition types themselves live with the data they read and register from their app's
``segment_conditions`` module: customers (profile, custom fields, store, owner, consent),
commerce (orders, bought), events (behaviour events), tags, analytics and loyalty.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Expression, Func
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils.translation import gettext_lazy as _

from rapport.customers.models import Channel, Gender, MemberStatus
from rapport.segments import operators as ops
from rapport.segments.rules import (
    Entity,
    Field,
)

JSON_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _json_path(key: str) -> str:
    """An SQLite JSON path to one key, quoted so that a key of digits is not an array index."""
    if not JSON_KEY.match(key):
        raise ValueError(f"not a JSON key for segment rules: {key!r}")
    return f'$."{key}"'


class _JsonKeyFunc(Func):
    """A function of ``field -> key`` on SQLite and PostgreSQL (keys of letters, digits, _)."""

    def __init__(self, field: str, key: str, **extra: Any) -> None:
        _json_path(key)
        self.key = key
        super().__init__(F(field), **extra)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError("JSON values are read on SQLite and PostgreSQL only")


class JsonKind(_JsonKeyFunc):
    """The JSON kind of ``field -> key``: ``true``, ``false``, ``number``, ``string``, ``array``
    or ``other`` (missing, null, object), the same on SQLite and PostgreSQL (so ``true`` never
    equals ``1``). Never NULL."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"CASE json_type({sql}, %s) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            "WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' WHEN 'text' THEN 'string' "
            "WHEN 'array' THEN 'array' ELSE 'other' END",
            [*params, _json_path(self.key)],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"({sql} -> %s)"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'boolean' THEN ({value})::text WHEN 'number' THEN 'number' "
            "WHEN 'string' THEN 'string' WHEN 'array' THEN 'array' ELSE 'other' END",
            [*params, self.key, *params, self.key],
        )


class JsonText(_JsonKeyFunc):
    """``field -> key`` as SQL text for a JSON string (a number stays a number on SQLite, so
    read it only after checking :class:`JsonKind`). NULL when missing or null."""

    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({sql}, %s)", [*params, _json_path(self.key)]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ->> %s)", [*params, self.key]


class JsonArrayLength(_JsonKeyFunc):
    """How many items the array at ``field -> key`` holds; 0 when it is not an array."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        path = _json_path(self.key)
        return (
            f"CASE json_type({sql}, %s) WHEN 'array' THEN json_array_length({sql}, %s) ELSE 0 END",
            [*params, path, *params, path],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"({sql} -> %s)"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'array' THEN jsonb_array_length({value}) ELSE 0 END",
            [*params, self.key, *params, self.key],
        )


class JsonArrayHas(_JsonKeyFunc):
    """The array at ``field -> key`` holds the text ``item`` (exactly). Never NULL."""

    output_field = BooleanField()

    def __init__(self, field: str, key: str, item: str) -> None:
        self.item = item
        super().__init__(field, key)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        path = _json_path(self.key)
        return (
            f"(json_type({sql}, %s) = 'array' AND EXISTS (SELECT 1 FROM json_each({sql}, %s) AS item "  # noqa: S608
            "WHERE item.type = 'text' AND item.value = %s))",
            [*params, path, *params, path, self.item],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE(jsonb_typeof({sql} -> %s) = 'array' AND ({sql} -> %s) @> %s::jsonb, false)",
            [*params, self.key, *params, self.key, json.dumps([self.item])],
        )


def json_number(field: str, key: str) -> Expression:
    """A JSON value as a number where it is one, NULL otherwise (text never compares as a number)."""
    return Case(
        When(Q(Exact(JsonKind(field, key), "number")), then=Cast(JsonText(field, key), FloatField())),
        default=Value(None),
        output_field=FloatField(),
    )


def window_start(window: int | None, now: dt.datetime) -> dt.datetime | None:
    return now - dt.timedelta(days=window) if window else None


class InGroups(Func):
    """The customer is among the ``customer_id`` of ``groups`` (an uncorrelated, grouped query),
    written ``EXISTS (SELECT 1 FROM (groups) AS g WHERE g.customer_id = customer.id)``.

    At the top of a rule PostgreSQL turns it into a hash semi-join (``NOT``: anti-join) that
    aggregates the rows once. Under ``any``/``not`` it stays a correlated sub-plan, and then the
    customer's id is pushed into the grouped query, so each customer costs one index probe; an
    ``IN (groups)`` there would scan the whole result per customer once it outgrows work_mem.
    """

    output_field = BooleanField()

    def __init__(self, groups: Any) -> None:
        super().__init__(Subquery(groups.values("customer_id")), F("pk"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        groups_sql, groups_params = compiler.compile(self.source_expressions[0])
        pk_sql, pk_params = compiler.compile(self.source_expressions[1])
        sql = f"EXISTS (SELECT 1 FROM {groups_sql} AS segment_groups WHERE segment_groups.customer_id = {pk_sql})"  # noqa: S608
        return sql, [*groups_params, *pk_params]


def customers_in(grouped: Any, having: Q, *, matches_none: bool) -> Q:
    """Customers whose group of rows passes ``having`` (see :class:`InGroups`). ``matches_none``
    says whether a customer without rows passes (``count < 2`` holds for them): then it is
    "not among those whose group fails". Two-valued: EXISTS is never NULL."""
    if matches_none:
        return ~Q(InGroups(grouped.filter(~having)))
    return Q(InGroups(grouped.filter(having)))


def compare(left: Any, op: str, right: Any) -> Q:
    lookup = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual, "eq": Exact}[op]
    return Q(lookup(left, right))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def py_compare(left: Any, op: str, right: Any) -> bool:
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
        "eq": left == right,
    }[op]


def subject_entry(value: str, label: Any, kind: str, choices: Any = ()) -> dict[str, Any]:
    return {"value": value, "label": str(label), "kind": kind, "choices": [[c, str(cl)] for c, cl in choices]}


def op_choices(names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, ops.OP_LABELS[name]) for name in names)


DID = op_choices(("did", "did_not"))


WINDOW = Field("window_days", _("Within the last … days"), "days", required=False, unit=_("days"))


def operand_fields(subject: str, source: str) -> tuple[Field, ...]:
    return (
        Field(subject, _("Field"), "choice", source=source),
        Field("op", _("Test"), "operator", source=source, depends_on=subject),
        Field("value", _("Value"), "operand", required=False, source=source, depends_on=subject),
    )


def choice_fields(source: str) -> tuple[Field, ...]:
    return (
        Field("op", _("Test"), "operator", operand_kind="choice"),
        Field("value", _("Value"), "operand", required=False, operand_kind="choice", source=source),
    )


# The customer profile fields a rule can test, with their kinds; choice labels stay lazy (the
# builder shows them in the reader's language).
PROFILE_FIELDS: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "name": ("text", ()),
    "gender": ("choice", tuple((str(v), label) for v, label in Gender.choices)),
    "birthday": ("date", ()),
    "age": ("integer", ()),
    "city": ("text", ()),
    "member_status": ("choice", tuple((str(v), label) for v, label in MemberStatus.choices)),
    "registered_at": ("datetime", ()),
    "registration_channel": ("choice", tuple((str(v), label) for v, label in Channel.choices)),
}


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def model_entity(
    name: str,
    label: Any,
    queryset: Callable[[], QuerySet[Any]],
    *,
    value: str = "pk",
    search: tuple[str, ...] = ("name",),
    show: Callable[[Any], str] = str,
    permission: str = "",
) -> Entity:
    """An :class:`~rapport.segments.rules.Entity` over a model: found by ``search`` fields
    (contains, any case), valued by ``value`` (an id, a code, a SKU), named by ``show``."""

    def found(text: str, limit: int) -> list[dict[str, Any]]:
        rows = queryset()
        if text:
            match = Q()
            for field_name in search:
                match |= Q(**{f"{field_name}__icontains": text})
            rows = rows.filter(match)
        return [{"value": getattr(row, value), "label": show(row)} for row in rows[:limit]]

    def labels(values: list[Any]) -> dict[str, str]:
        wanted = [v for v in values if isinstance(v, int | str) and not isinstance(v, bool)]
        rows = queryset().filter(**{f"{value}__in": wanted}) if wanted else []
        return {str(getattr(row, value)): show(row) for row in rows}

    return Entity(name, label, found, labels, permission)
