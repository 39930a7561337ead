"""Care reminders at scale: the daily job over N owned customers on PostgreSQL (set-based per reason).

Usage: DATABASE_URL=postgres://…/rapport_bench_x python benchmarks/reminders_bench.py [customers]
The database is created afresh (and dropped at the end); results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time

from scratch_db import drop_database, migrated_database
from seed_rows import bulk_rows, sales_staff

URL = os.environ["DATABASE_URL"]
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
OWNERS = 50


def main() -> None:
    migrated_database(URL)
    from django.utils import timezone

    from rapport.clienteling import reminders
    from rapport.customers.models import Customer

    owners = sales_staff("owner", OWNERS)
    rng = random.Random(7)
    now = timezone.now()
    start = time.perf_counter()
    bulk_rows(
        Customer,
        COUNT,
        lambda n: Customer(
            name=f"Customer {n}",
            owner_id=rng.choice(owners),
            birthday=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55)),
            lunar_birthday=rng.random() < 0.2,
            registered_at=now - dt.timedelta(days=rng.randrange(3650), seconds=rng.randrange(86400)),
        ),
    )
    print(f"seeded {COUNT:,} customers in {time.perf_counter() - start:.1f} s")
    day = timezone.localdate()
    start = time.perf_counter()
    made = reminders.make_reminders(day)
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = reminders.make_reminders(day)
    second = time.perf_counter() - start
    print(f"first run {first:.2f} s: {made}")
    print(f"rerun {second:.2f} s: {sum(again.values())} new")
    start = time.perf_counter()
    owner = owners[0]
    listed = len(list(reminders.todays_list(owner, day)))
    print(f"one owner's list: {listed} reminders in {1000 * (time.perf_counter() - start):.0f} ms")
    drop_database(URL)


if __name__ == "__main__":
    main()
