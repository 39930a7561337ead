"""Nothing the demo shop records happened after the moment it was loaded.

The demo is loaded with the clock frozen at a fixed moment (``timezone.now`` and the loader's
``now``); then every date-time column of every model is read: only scheduled columns (validity,
expiry, due and next-run times) may lie ahead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Max
from django.utils import timezone

from rapport.demo.loader import seed_demo_shop

CLOCK = dt.datetime(2026, 7, 1, 0, 27, tzinfo=dt.UTC)  # 08:27 in Shanghai
# Times that are scheduled rather than recorded: when something ends, expires, is due or will run.
SCHEDULED = {
    "valid_until",
    "valid_to",
    "expires_at",
    "ends_at",
    "first_response_due",
    "resolution_due",
    "next_run_at",
    "next_at",
    "due_at",
    "wake_at",
    "scheduled_at",
    "send_at",
    "snoozed_until",
    "locked_until",
}


# Scheduled on one model only: a points campaign set up ahead for the next Double 11.
SCHEDULED_ON = {"loyalty.EarnRule.starts_at"}


def _models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


@pytest.fixture
def rows_before(db) -> dict[str, int]:
    """The highest id of each table before the load (rows the migrations wrote are not the demo's)."""
    return {
        m._meta.label: m._default_manager.aggregate(top=Max("pk"))["top"] or 0
        for m in _models()
        if isinstance(m._meta.pk, models.AutoField)
    }


@pytest.fixture
def shop_at_clock(rows_before):
    real_now = timezone.now
    # Fields whose default is the function itself (``default=timezone.now``) hold it since import,
    # and cache it (``_get_default``) once a row has been made.
    stamped = [f for m in _models() for f in m._meta.concrete_fields if f.default is real_now]
    defaults = [mock.patch.object(f, "default", lambda: CLOCK) for f in stamped] + [
        mock.patch.object(f, "_get_default", lambda: CLOCK) for f in stamped
    ]
    with mock.patch("django.utils.timezone.now", return_value=CLOCK), contextlib.ExitStack() as stack:
        for patch in defaults:
            stack.enter_context(patch)
        return seed_demo_shop(seed=1, customers=300, now=CLOCK)


def _recorded_columns():
    for model in _models():
        for field in model._meta.concrete_fields:
            label = f"{model._meta.label}.{field.name}"
            if isinstance(field, models.DateTimeField) and field.name not in SCHEDULED and label not in SCHEDULED_ON:
                yield model, field.name, label


def test_no_row_of_the_demo_shop_is_later_than_the_clock(shop_at_clock, rows_before) -> None:
    late = {}
    for model, name, label in _recorded_columns():
        rows = model._default_manager.filter(pk__gt=rows_before.get(model._meta.label, 0))
        latest = rows.aggregate(latest=Max(name))["latest"]
        if latest is not None and latest > CLOCK:
            late[label] = latest.isoformat()
    assert late == {}, "\n".join(f"{k} {v}" for k, v in sorted(late.items()))


def test_demo_coupons_are_issued_at_their_own_dates(shop_at_clock) -> None:
    # Coupons from the demo's campaigns and hand-outs carry the day they were given, not the load.
    from rapport.loyalty.models import Coupon

    issued = Coupon.objects.exclude(issued_at=None)
    assert issued.exists()
    assert not issued.filter(issued_at__gte=CLOCK).exists()
