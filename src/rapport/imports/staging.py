"""Staging tables and set-based writes for the bulk import engine, on PostgreSQL and SQLite.

New rows (matched first, their ids drawn from the table's sequence) are loaded straight into
their table: ``COPY`` on PostgreSQL through psycopg 3, multi-row ``INSERT`` on SQLite. Changed
rows are loaded the same way into a temporary staging table shaped like their target and merged
with one ``UPDATE … FROM`` or ``INSERT … ON CONFLICT``; the staging rows are deleted in the same
transaction: nothing of a chunk outlives it, and what is written is what the target stores
(personal data already encrypted by the model field, blind indexes beside it).

Values go through each model field's ``get_db_prep_save``, so encryption, JSON and time zones
are handled by the same code as an ORM save. Every table and column name in the SQL here comes
from model metadata and is quoted by the backend (hence the ``noqa: S608``); values are bound.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, models

from rapport.core import pii

STAGE_PREFIX = "rapport_stage_"
# SQLite's page cache during a job, in KiB: the indexes of a large orders table stay in memory
# (the default 2 MB made index maintenance a third of the merge's CPU at 100,000 orders)
SQLITE_JOB_CACHE_KIB = 131072


@contextmanager
def bulk_session() -> Iterator[None]:
    """The connection tuned for a bulk job while it runs (on SQLite, a larger page cache)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_JOB_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def analyze(models_: Iterable[type[models.Model]]) -> None:
    """Fresh planner statistics for tables a job has just filled, before the queries that read
    them back (the buyers' statistics and the rest of the baseline). Without them SQLite reads
    ``status IN (…) AND customer_id IN (…)`` through the status index, a scan of every counted
    order for each batch of buyers (205 s at 1,000,000 orders); PostgreSQL's autovacuum may not
    have analysed a table loaded a minute ago either. A full ``ANALYZE`` of the tables: SQLite's
    sampled one (``analysis_limit``) misjudged the status index the same way."""
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {_quote(model._meta.db_table)}")


def stage_name(model: type[models.Model]) -> str:
    return STAGE_PREFIX + model._meta.db_table


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field[Any, Any]]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    return [by_column[c] for c in columns]


def ensure_stage(model: type[models.Model]) -> str:
    """The empty temporary table shaped like ``model``'s, created on first use in this session."""
    name = stage_name(model)
    with connection.cursor() as cursor:
        source = _quote(model._meta.db_table)
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_quote(name)} AS SELECT * FROM {source} WHERE 1 = 0")  # noqa: S608
    return name


def drop_stages(models_: Iterable[type[models.Model]]) -> None:
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(stage_name(model))}")


def _converter(field: models.Field[Any, Any]) -> Callable[[list[Any]], list[Any]] | None:
    """How one column's Python values become database values, a column at a time, decided once
    per column; None when the driver takes them as they are.

    The common types get a direct conversion (calling ``get_db_prep_save`` per value was most of
    the time of a chunk; encrypting a column at once is three times faster than value by value);
    anything else goes through the field, as an ORM save would.
    """
    from rapport.core.fields import EncryptedTextField

    postgres = connection.vendor == "postgresql"
    if isinstance(field, EncryptedTextField):
        return pii.encrypt_many
    if isinstance(field, models.JSONField):
        return _each(lambda v: None if v is None else json.dumps(v, cls=field.encoder))
    if isinstance(field, models.DecimalField):
        return None if postgres else _each(lambda v: None if v is None else str(v))
    if isinstance(field, models.DateTimeField):  # SQLite stores naive UTC text, as Django writes it
        return (
            None if postgres else _each(lambda v: None if v is None else str(v.astimezone(dt.UTC).replace(tzinfo=None)))
        )
    if isinstance(field, models.DateField):
        return None if postgres else _each(lambda v: None if v is None else v.isoformat())
    if isinstance(field, models.BooleanField | models.IntegerField | models.CharField | models.TextField):
        return None
    if isinstance(field, models.ForeignKey | models.AutoField | models.BigAutoField):
        return None
    return _each(lambda v: field.get_db_prep_save(v, connection))


def _each(convert: Callable[[Any], Any]) -> Callable[[list[Any]], list[Any]]:
    return lambda values: [convert(v) for v in values]


def _prepared(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Iterable[Sequence[Any]]:
    """The rows with each value as the database takes it; only the columns that need it are converted."""
    converting = [(i, convert) for i, convert in enumerate(_converter(f) for f in _fields(model, columns)) if convert]
    if not converting:
        return rows
    out = [list(row) for row in rows]
    for i, convert in converting:
        for row, value in zip(out, convert([row[i] for row in out]), strict=True):
            row[i] = value
    return out


@dataclass
class Prepared:
    """Rows of ``model`` with each value as the database takes it (personal data encrypted, JSON
    dumped…): converted ahead, outside the transaction that writes them (:func:`prepare`)."""

    model: type[models.Model]
    columns: list[str]
    rows: Sequence[Sequence[Any]]


def prepare(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Prepared:
    """``rows`` (Python values, as the model fields take them) converted for :func:`insert` or
    :func:`update`: the CPU of a write done before its transaction, so that a thread may convert
    the next chunk while this one's rows stream to the database."""
    return Prepared(model, list(columns), list(_prepared(model, columns, rows)) if rows else [])


def insert(prepared: Prepared) -> int:
    """Insert prepared new rows straight into their table (see :func:`write_new`)."""
    if not prepared.rows:
        return 0
    return _load(prepared.model._meta.db_table, prepared.columns, prepared.rows)


def update(prepared: Prepared) -> int:
    """Overwrite the stored rows with prepared rows of the same id (columns: ``id`` first)."""
    if not prepared.rows:
        return 0
    _load(ensure_stage(prepared.model), prepared.columns, prepared.rows)
    return update_from_stage(prepared.model, prepared.columns[1:])


def stage_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Load Python values (as the model fields take them) into ``model``'s staging table."""
    return _load(ensure_stage(model), columns, _prepared(model, columns, rows))


def _load(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    column_list = ", ".join(_quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY {_quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = max(1, min(connection.features.max_query_params or 999, 30000) // max(len(columns), 1))
        batch: list[Any] = []
        pending = 0

        def flush() -> None:
            sql = f"INSERT INTO {_quote(table)} ({column_list}) VALUES " + ", ".join([placeholders] * pending)  # noqa: S608
            cursor.execute(sql, batch)

        for row in rows:
            batch.extend(row)
            pending += 1
            count += 1
            if pending == per_statement:
                flush()
                batch, pending = [], 0
        if pending:
            flush()
    return count


def update_from_stage(model: type[models.Model], columns: Sequence[str]) -> int:
    """Overwrite ``columns`` of the target rows with the staged rows of the same id; empty the stage."""
    name = stage_name(model)
    table = _quote(model._meta.db_table)
    assignments = ", ".join(f"{_quote(c)} = s.{_quote(c)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {_quote(name)} AS s WHERE {table}.id = s.id")  # noqa: S608
        count = cursor.rowcount
        cursor.execute(f"DELETE FROM {_quote(name)}")  # noqa: S608
    return count


def upsert(model: type[models.Model], key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert the rows, or overwrite ``columns`` of the row with the same ``key`` (a unique column)."""
    if not rows:
        return 0
    name = stage_name(model)
    stage_rows(model, [key, *columns], rows)
    column_list = ", ".join(_quote(c) for c in [key, *columns])
    updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_quote(model._meta.db_table)} ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM {_quote(name)} WHERE true "
            f"ON CONFLICT ({_quote(key)}) DO UPDATE SET {updates}"
        )
        count = cursor.rowcount
        cursor.execute(f"DELETE FROM {_quote(name)}")  # noqa: S608
    return count


def write_new(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert new rows straight into the target table (``COPY`` / multi-row ``INSERT``): they
    collide with nothing (their keys were matched and their ids drawn before), so a stage would
    only copy them twice."""
    return insert(prepare(model, columns, rows))


@contextmanager
def references_checked_at_once(references: Sequence[tuple[type[models.Model], Iterable[int | None]]]) -> Iterator[None]:
    """New rows written inside this block have their foreign keys checked once for the chunk,
    not row by row, where PostgreSQL lets this session do so.

    PostgreSQL checks each inserted row's foreign keys with a trigger and a query per row and key
    (a third of the database's work for an order line: its order and its product). Here the
    referenced rows (``references``: model, ids) are found and locked ``FOR KEY SHARE`` with one
    query per table, as the triggers would lock them, and the block runs with
    ``session_replication_role = replica`` (``SET LOCAL``: this transaction only), which skips
    triggers. Use it only around inserts of rows whose every foreign key is named in ``references``
    or was inserted before them in the block (an order's lines after their order), on tables with
    no trigger of their own (``imports/tests`` checks that). The role needs a superuser or, from
    PostgreSQL 15, ``GRANT SET ON PARAMETER session_replication_role``; without it, and on SQLite,
    the block runs as it is and the database checks row by row.
    """
    if not _may_skip_triggers():
        yield
        return
    with connection.cursor() as cursor:
        for model, ids in references:
            wanted = sorted({pk for pk in ids if pk is not None})
            if not wanted:
                continue
            table, key = _quote(model._meta.db_table), _quote(model._meta.pk.column)
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {key} = ANY(%s) FOR KEY SHARE) AS held",  # noqa: S608
                [wanted],
            )
            held = cursor.fetchone()[0]
            if held != len(wanted):
                raise IntegrityError(f"{len(wanted) - held} of the {model._meta.db_table} rows referenced are missing")
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    # on an error the transaction rolls back, and the setting with it
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def _may_skip_triggers() -> bool:
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        if connection.pg_version >= 150000:  # type: ignore[attr-defined]
            cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        else:
            cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        return bool(cursor.fetchone()[0])


def find(
    model: type[models.Model], select: Sequence[str], column: str, values: Iterable[Any], **equal: Any
) -> list[tuple[Any, ...]]:
    """``select`` of the rows whose ``column`` is one of ``values`` (and each ``equal`` column has
    its value): one query per chunk in plain SQL, without the ORM's per-value work.

    On PostgreSQL each value is one index probe, whatever the table's planner statistics: the
    values are a set of their own, joined laterally (``OFFSET 0`` keeps the planner from turning
    the join into a scan of the table). ``column = ANY(array)`` was planned from the statistics,
    and a table this job fills has none until it is analysed: with 4,000 order numbers the planner
    used only the channel of the ``(channel, external_id)`` index and filtered every stored order
    (1.1 s a chunk at 2.8 million orders, growing with the table); a partial unique index (a
    customer's phone) does not tell it the column is unique, so 10,000 phones read as the whole table.
    """
    wanted = list(values)
    if not wanted:
        return []
    table = _quote(model._meta.db_table)
    select_list = ", ".join(_quote(c) for c in select)
    conditions = "".join(f" AND {_quote(c)} = %s" for c in equal)
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            array_type = "bigint[]" if isinstance(wanted[0], int) else "text[]"
            outer = ", ".join(f"found.{_quote(c)}" for c in select)
            sql = (
                f"SELECT {outer} FROM unnest(%s::{array_type}) AS wanted(value) CROSS JOIN LATERAL "  # noqa: S608
                f"(SELECT {select_list} FROM {table} WHERE {_quote(column)} = wanted.value{conditions} OFFSET 0) "
                "AS found"
            )
            cursor.execute(sql, [wanted, *equal.values()])
            return [tuple(row) for row in cursor.fetchall()]
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            placeholders = ", ".join(["%s"] * len(part))
            sql = f"SELECT {select_list} FROM {table} WHERE {_quote(column)} IN ({placeholders}){conditions}"  # noqa: S608
            cursor.execute(sql, [*part, *equal.values()])
            found.extend(tuple(row) for row in cursor.fetchall())
    return found


def write_updates(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """``rows`` start with the id, then ``columns``."""
    return update(prepare(model, ["id", *columns], rows))


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for rows this transaction is about to insert.

    PostgreSQL draws them from the table's sequence (safe with concurrent writers); SQLite has
    one writer at a time, and this transaction holds the write lock once it has written, so
    the keys after the highest ever used are ours (``sqlite_sequence`` remembers deleted ones).
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_quote(table)}")  # noqa: S608
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        if row is not None:
            highest = max(highest, row[0] or 0)
        return list(range(highest + 1, highest + 1 + count))
