"""Secondary indexes set aside while a first load fills an empty table, and built once after it.

Loading millions of rows into a table keeps each of its indexes row by row, at random places of
trees that outgrow PostgreSQL's buffers as the table grows: the database's CPU a row doubled from
100,000 to 1,000,000 orders. An index built once over the loaded table is one sort.

What is set aside: the indexes of a table that is *empty* when a history job starts and that
enforce nothing (not unique, not a primary key, behind no constraint). The job's own look-ups and
its uniqueness checks use only the unique indexes and primary keys, which stay; foreign keys need
only the referenced table's primary key. Readers of a table being loaded for the first time see
a table without some of its indexes, which is slower, never wrong.

The guarantees:

- **Killed mid-load** (kill -9): the indexes' definitions are recorded (:class:`DeferredIndex`) in
  the transaction that drops them, so the record survives the job; the next import that starts
  (its own resume included) builds them first (:func:`rebuild_left_over`).
- **Never under a live job** (PostgreSQL): a job holds a session advisory lock on each table whose
  indexes it set aside until it has built them; a rebuild of left-over indexes takes the lock first
  and leaves a table alone while another job holds it. A process killed by kill -9 loses its
  session, and the lock with it. SQLite has no such lock: a left-over rebuild there builds them
  whoever loads the table (one writer at a time; a job whose indexes were built early only loads
  slower, and finds nothing left to build).
- **Done before the job is reported finished**: :func:`set_aside` builds them when its block ends
  (normally or with an error), before the job's recompute, which reads through them.
- **Idempotent, never half-built**: each index is built (``CREATE INDEX IF NOT EXISTS``) and its
  record deleted in one transaction; a plain ``CREATE INDEX`` becomes visible only once complete.
  Readers are not blocked meanwhile; writers of that table wait for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from django.db import OperationalError, connection, transaction

from rapport.imports.models import DeferredIndex

# the first key of the advisory locks taken here (the second is the table name's hash)
LOCK_SPACE = 0x52415049
# how long setting indexes aside waits for the table's lock (held by a reader) before loading with them
LOCK_WAIT = "5s"
# the sort memory of an index build, for its transaction only (PostgreSQL's default is 64 MB)
BUILD_MEMORY = "256MB"

_SET_ASIDE = """
SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid)
FROM pg_index x
WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary AND x.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY 1
"""


_SQLITE_SET_ASIDE = """
SELECT name, sql FROM sqlite_master
WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'
ORDER BY name
"""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _applies() -> bool:
    """A job outside any caller's transaction: inside one, the drop would hold the table locked
    until the caller commits, and PostgreSQL cannot build an index on a table with foreign-key
    checks still pending in the transaction (Django's are deferred to the commit)."""
    return connection.vendor in ("postgresql", "sqlite") and not connection.in_atomic_block


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _lock(cursor: Any, table: str) -> bool:
    if not _postgres():
        return True
    cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_SPACE, table])
    return bool(cursor.fetchone()[0])


def _unlock(cursor: Any, table: str) -> None:
    if not _postgres():
        return
    cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_SPACE, table])


@contextmanager
def set_aside(
    tables: Sequence[str], *, building: Callable[[], AbstractContextManager[Any]] = nullcontext
) -> Iterator[list[str]]:
    """Around a history job's chunks: the secondary indexes of those of ``tables`` that are empty
    dropped (and recorded) first, built again when the block ends (inside ``building()``, the
    job's clock). Yields the tables concerned.

    A ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``: the
    process is stopping) leaves them to the next import, as kill -9 would.
    """
    if not _applies():
        yield []
        return
    held = _drop_where_empty(tables)
    try:
        yield held
    except Exception:
        with building():
            build(held)
        raise
    else:
        with building():
            build(held)
    finally:
        with connection.cursor() as cursor:
            for table in held:
                _unlock(cursor, table)


def _drop_where_empty(tables: Sequence[str]) -> list[str]:
    held: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {_quote(table)})")  # noqa: S608
            if not cursor.fetchone()[0] or not _lock(cursor, table):
                continue
            try:
                with transaction.atomic():
                    if _postgres():
                        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
                    cursor.execute(_SET_ASIDE if _postgres() else _SQLITE_SET_ASIDE, [table])
                    for name, definition in cursor.fetchall():
                        DeferredIndex.objects.create(table=table, name=name, definition=definition)
                        # PostgreSQL's names come quoted as needed (regclass), SQLite's as they are
                        cursor.execute(f"DROP INDEX {name if _postgres() else _quote(name)}")
            except OperationalError:  # a reader holds the table (SQLite: the database): load with them
                _unlock(cursor, table)
                continue
            held.append(table)
    return held


def _if_not_exists(definition: str) -> str:
    built, count = re.subn(r"^CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", definition)
    if count != 1:
        raise ValueError(f"not a plain index definition: {definition[:80]!r}")
    return built


def build(tables: Sequence[str]) -> int:
    """Build the indexes set aside on ``tables``, one transaction each; how many were built."""
    built = 0
    for record in DeferredIndex.objects.filter(table__in=list(tables)):
        with transaction.atomic(), connection.cursor() as cursor:
            if _postgres():
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [BUILD_MEMORY])
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [record.table])
            else:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s)", [record.table]
                )
            if cursor.fetchone()[0]:  # a table since dropped takes its indexes with it
                cursor.execute(_if_not_exists(record.definition))
                built += 1
            DeferredIndex.objects.filter(pk=record.pk).delete()
    return built


def rebuild_left_over() -> int:
    """Build the indexes a killed job left set aside, on every table no live job holds."""
    if not _applies():
        return 0
    built = 0
    for table in sorted(set(DeferredIndex.objects.values_list("table", flat=True))):
        with connection.cursor() as cursor:
            if not _lock(cursor, table):  # a running job loads it, and will build them
                continue
        try:
            built += build([table])
        finally:
            with connection.cursor() as cursor:
                _unlock(cursor, table)
    return built
