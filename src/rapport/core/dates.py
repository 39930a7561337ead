"""Reading date-times from people and files: always aware, always stored in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import BigIntegerField, Func
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def parse_aware_datetime(value: Any) -> dt.datetime:
    """ISO date-time (or date) into an aware UTC datetime; naive input is taken as UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        parsed_dt = parse_datetime(text)
        if parsed_dt is None:
            parsed_date = parse_date(text)
            if parsed_date is None:
                raise ValueError("expected an ISO 8601 date-time such as 2025-03-01T10:30:00+08:00")
            parsed_dt = dt.datetime.combine(parsed_date, dt.time())
        parsed = parsed_dt
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed.astimezone(dt.UTC)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class EpochMicroseconds(Func):
    """A stored moment as whole microseconds since 1970 (UTC): exact, and read as a plain integer.

    Thousands of timestamps a second come back far cheaper this way: Django's time-zone-aware
    loader for PostgreSQL parses each one in Python. :func:`from_epoch_microseconds` turns it back.
    """

    output_field = BigIntegerField()
    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # Django keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: whole seconds, then the fraction.
        template = (
            "(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) * 1000000"
            " + CAST(substr(%(expressions)s, 21, 6) AS INTEGER))"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)


def from_epoch_microseconds(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)
