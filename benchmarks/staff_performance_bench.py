"""Staff performance at scale: orders attributed to the owner at order time (``customers.queries.owner_at``,
two index probes per order inside one query) and to the last contact, on PostgreSQL.

Usage: DATABASE_URL=postgres://…/rapport_bench_x python benchmarks/staff_performance_bench.py [orders]
The database is created afresh (and dropped at the end); results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import sys
import time
from decimal import Decimal

from scratch_db import drop_database, migrated_database
from seed_rows import BATCH, bulk_rows, sales_staff

URL = os.environ["DATABASE_URL"]
ORDERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
CUSTOMERS = ORDERS // 5
STAFF = 40


def main() -> None:
    migrated_database(URL)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from rapport.analytics import kpis
    from rapport.analytics.staff_performance import Rules, staff_performance
    from rapport.commerce.models import Order
    from rapport.customers.models import ChangeRecord, Customer

    staff = sales_staff("seller", STAFF)
    rng = random.Random(7)
    now = timezone.now()
    bulk_rows(
        Customer,
        CUSTOMERS,
        lambda n: Customer(name=f"C{n}", owner_id=rng.choice(staff), registered_at=now - dt.timedelta(days=400)),
    )
    ids = list(Customer.objects.values_list("pk", flat=True))
    changes = [
        ChangeRecord(
            customer_id=pk,
            field="owner",
            owner_before_id=rng.choice(staff),
            owner_after_id=rng.choice(staff),
            actor_label="bench",
            source="system",
        )
        for pk in rng.sample(ids, len(ids) // 5)
    ]
    ChangeRecord.objects.bulk_create(changes, batch_size=BATCH)
    ChangeRecord.objects.filter(field="owner").update(created_at=now - dt.timedelta(days=15))
    bulk_rows(
        Order,
        ORDERS,
        lambda n: Order(
            customer_id=rng.choice(ids),
            channel="store",
            external_id=f"b{n}",
            status="paid",
            subtotal=Decimal("100.00"),
            total=Decimal("100.00"),
            placed_at=now - dt.timedelta(days=rng.randrange(30), seconds=rng.randrange(86400)),
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the planner's statistics after the bulk load
    print(f"seeded {CUSTOMERS:,} customers, {len(changes):,} owner changes, {ORDERS:,} orders")
    filters = kpis.Filters.parse({}, today=timezone.localdate())
    for rules in (Rules(contact_rule=False), Rules(contact_rule=True, contact_days=7)):
        start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
        with CaptureQueriesContext(connection) as queries:
            report = staff_performance(filters, rules)
        counted = sum(row["orders"] for row in report["staff"])
        print(
            f"contact rule {rules.contact_rule}: {counted:,} orders in {time.perf_counter() - start:.2f} s "
            f"({resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu:.2f} s CPU here), {len(queries)} queries"
        )
    drop_database(URL)


if __name__ == "__main__":
    main()
