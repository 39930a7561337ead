"""Reading date-times from people and files: always aware, always stored in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
