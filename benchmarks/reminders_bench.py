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

from scratch_db import drop_database, recreate_database, setup_django

URL = os.environ["DATABASE_URL"]
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
OWNERS = 50
BATCH = 5000


def main() -> None:
    recreate_database(URL)
    setup_django(URL)
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from rapport.accounts import roles
    from rapport.accounts.services import create_staff_user
    from rapport.clienteling import reminders
    from rapport.core.actor import Actor
    from rapport.customers.models import Customer

    actor = Actor.system("bench")
    owners = [
        create_staff_user(username=f"owner{n}", password="bench-Password-123", role=roles.SALES, actor=actor).pk
        for n in range(OWNERS)
    ]
    rng = random.Random(7)
    now = timezone.now()
    start = time.perf_counter()
    for offset in range(0, COUNT, BATCH):
        Customer.objects.bulk_create(
            [
                Customer(
                    name=f"Customer {offset + i}",
                    owner_id=rng.choice(owners),
                    birthday=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55)),
                    lunar_birthday=rng.random() < 0.2,
                    registered_at=now - dt.timedelta(days=rng.randrange(3650), seconds=rng.randrange(86400)),
                )
                for i in range(min(BATCH, COUNT - offset))
            ]
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
