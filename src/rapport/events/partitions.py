"""Monthly partitions of the events table on PostgreSQL, and retention.

The table is ``PARTITION BY RANGE (timestamp)`` with a default partition for anything no month
partition covers. Month partitions are created ahead by the daily maintenance job and on demand
when a batch brings a month that has none (historic backfills).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction

logger = logging.getLogger(__name__)

TABLE = "events_event"
_known_months: set[dt.date] = set()


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def month_start(moment: dt.datetime | dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year}m{month.month:02d}"


def ensure_month_partitions(moments: list[dt.datetime] | set[dt.date]) -> None:
    """Create the month partitions these times need (PostgreSQL only; a no-op elsewhere)."""
    if not is_partitioned():
        return
    months = {month_start(m) for m in moments} - _known_months
    for month in sorted(months):
        _create_partition(month)
        # The partition may have been created by this very transaction, which may yet roll
        # back: remember it only once committed (at once outside a transaction).
        transaction.on_commit(lambda month=month: _known_months.add(month))  # type: ignore[misc]


def _create_partition(month: dt.date) -> None:
    """Create the month's partition unless it exists (or its rows already sit in the default)."""
    name = partition_name(month)
    upper = next_month(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            return
        cursor.execute(
            f'SELECT 1 FROM "{TABLE}_default" WHERE "timestamp" >= %s AND "timestamp" < %s LIMIT 1',  # noqa: S608
            [month, upper],
        )
        if cursor.fetchone() is not None:
            logger.warning("events of %s are in the default partition; %s is not created", month, name)
            return
        cursor.execute(
            f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)',
            [month.isoformat(), upper.isoformat()],
        )


def drop_partitions_before(cutoff: dt.datetime) -> int:
    """Drop whole month partitions that end before ``cutoff``; return how many."""
    if not is_partitioned():
        return 0
    dropped = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        for (name,) in cursor.fetchall():
            if not name.startswith(f"{TABLE}_y"):
                continue
            month = dt.date(int(name[-7:-3]), int(name[-2:]), 1)
            if dt.datetime.combine(next_month(month), dt.time(), dt.UTC) <= cutoff:
                cursor.execute(f'DROP TABLE "{name}"')
                _known_months.discard(month)
                dropped += 1
    return dropped
