"""Querysets compiled once per process: for reads made at every API request.

Django builds and compiles a queryset's SQL on every evaluation; for a read with subqueries that
costs more CPU than the database spends answering it (docs/benchmarks.md, recommendations). A
:class:`Prepared` read builds its queryset once per database connection's vendor with stand-in
values ("markers"), keeps the SQL, where each marker sits among its parameters and the column
converters, and at each call only swaps the real values in, runs the SQL and converts the columns
as Django would.

Only ``values_list`` querysets are prepared (rows as tuples): model instances need Django's whole
iterable machinery. A value that Django would turn into SQL rather than a parameter (``None`` in a
filter, an empty list) cannot be a marker: callers keep their ORM path for those cases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Lookup, Q, QuerySet

# Stand-in values: integers no id or count in Rapport takes (a text column gets them as text).
FIRST_MARKER = -7_300_000_001


def markers(n: int) -> list[int]:
    return list(range(FIRST_MARKER, FIRST_MARKER - n, -1))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (parameter position, marker index)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


class Prepared:
    """A ``values_list`` read compiled once per (database alias, vendor, ``shape``).

    ``build(markers, shape)`` returns the queryset with the markers (:func:`markers`, ``count(shape)``
    of them) where the call's values go; ``shape`` keys what changes the SQL's text besides values
    (how many ids an ``IN`` holds, which filter a data scope applies), so each shape is compiled once.
    """

    def __init__(
        self, build: Callable[[list[int], Any], QuerySet[Any, Any]], count: int | Callable[[Any], int] = 1
    ) -> None:
        self._build = build
        self._count = count
        self._compiled: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, values: Sequence[Any], *, shape: Hashable = (), using: str = "default") -> list[tuple[Any, ...]]:
        """The rows for ``values`` (as many as markers, in order), columns converted as Django does."""
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor, shape))
        if compiled is None:
            compiled = self._compile(using, shape)
        params = list(compiled.params)
        for position, index in compiled.slots:
            params[position] = values[index]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if not compiled.converters:
            return [tuple(row) for row in fetched]
        rows = []
        for raw in fetched:
            row = list(raw)
            for column, functions, expression in compiled.converters:
                value = row[column]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[column] = value
            rows.append(tuple(row))
        return rows

    def _compile(self, using: str, shape: Hashable) -> _Compiled:
        connection = connections[using]
        stand_ins = markers(self._count(shape) if callable(self._count) else self._count)
        queryset = self._build(stand_ins, shape)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slot_of: dict[int | None, int] = {marker: index for index, marker in enumerate(stand_ins)}
        found = [(position, slot_of.get(_as_marker(p))) for position, p in enumerate(params)]
        slots = tuple((position, index) for position, index in found if index is not None)
        if len({index for _position, index in slots}) != len(stand_ins):
            raise ValueError("a marker did not reach the SQL's parameters: it cannot be prepared")
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = tuple(
            (column, tuple(functions), expression)
            for column, (functions, expression) in compiler.get_converters(fields).items()
        )
        compiled = _Compiled(sql, tuple(params), slots, converters)
        with self._lock:
            self._compiled[(using, connection.vendor, shape)] = compiled
        return compiled


def _as_marker(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and value.startswith("-7") and value[1:].isdigit():
        return int(value)
    return None


def flat_filter(condition: Q) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """A filter of ANDed ``lookup=integer`` terms as its lookups (a shape) and values (for markers),
    or None when it is anything else (an empty list, OR, NOT): the caller then reads through the ORM."""
    if condition.negated or (len(condition.children) > 1 and condition.connector != Q.AND):
        return None
    lookups, values = [], []
    for child in condition.children:
        if not isinstance(child, tuple) or type(child[1]) is not int:
            return None
        lookups.append(child[0])
        values.append(child[1])
    return tuple(lookups), tuple(values)


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``column = ANY(%s)``: a list of any length as one array parameter (PostgreSQL only), so a
    prepared read of "these ids" has one SQL text, and psycopg parses it once (it parses anew a
    statement of more than 50 parameters at each call). Use as ``filter(AnyOf(F("pk"), ids))``."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]
