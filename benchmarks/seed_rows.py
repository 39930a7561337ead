"""Rows the benchmarks seed in bulk: sales staff, and any model's rows made one by one and written
in batches (shared by the scripts, so that each seeds the same way and only says what its rows hold).

Call after :func:`scratch_db.migrated_database` (Django must be set up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BATCH = 5000
PASSWORD = "bench-Password-123"


def sales_staff(prefix: str, count: int) -> list[int]:
    """``count`` staff accounts with the sales role (``<prefix>0``, ``<prefix>1``, …); their ids."""
    from rapport.accounts import roles
    from rapport.accounts.services import create_staff_user
    from rapport.core.actor import Actor

    actor = Actor.system("bench")
    return [
        create_staff_user(username=f"{prefix}{n}", password=PASSWORD, role=roles.SALES, actor=actor).pk
        for n in range(count)
    ]


def bulk_rows(model: Any, count: int, make: Callable[[int], Any], *, batch: int = BATCH) -> None:
    """Write ``count`` rows of ``model``, row ``i`` made by ``make(i)``, ``batch`` to an INSERT
    (the rows are made in order, so a seeded random generator gives the same data every run)."""
    for offset in range(0, count, batch):
        model.objects.bulk_create([make(offset + i) for i in range(min(batch, count - offset))])
