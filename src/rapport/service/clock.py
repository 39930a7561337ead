"""The service domain's one source of the current time, so tests can move it explicitly."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
