"""A data-subject access copy for a large customer: what the request that starts it costs, and what
the background job that builds it costs (N events, M orders), on PostgreSQL.

Usage: DATABASE_URL=postgres://…/rapport_bench_x python benchmarks/access_archive_bench.py [events] [orders]
The database is created afresh (and dropped at the end); results go to docs/benchmarks.md by hand.
CPU time (``time.process_time``) is the figure that holds on a shared machine. The job runs in a
process of its own, as a worker would, so that its peak resident memory is the job's alone (the
data set's setup peaks higher than the job in this process).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import time

from scratch_db import drop_database, recreate_database, setup_django

URL = os.environ["DATABASE_URL"]
ARGS = [] if sys.argv[1:2] == ["--job"] else sys.argv[1:]
EVENTS = int(ARGS[0]) if ARGS else 50_000
ORDERS = int(ARGS[1]) if len(ARGS) > 1 else 500
BATCH = 5000


def _peak_rss_mb() -> float:
    """The process's peak resident set so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _archive_mb(request: object) -> float:
    from rapport.privacy import archives

    return archives.path_of(request).stat().st_size / 1e6


def job(request_id: int) -> None:
    """The worker's part: build the copy of an access request, with its CPU, wall time and peak memory."""
    setup_django(URL)
    from rapport.commerce.models import Order
    from rapport.events.models import Event
    from rapport.privacy import services
    from rapport.privacy.models import DataSubjectRequest

    request = DataSubjectRequest.objects.get(pk=request_id)  # Django and the app loaded, a query made
    events = Event.objects.filter(customer_id=request.customer_id).count()
    orders = Order.objects.filter(customer_id=request.customer_id).count()
    peak_before = _peak_rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    services.prepare_archive(request.pk)
    request.refresh_from_db()
    print(
        f"build (the job), {events:,} events and {orders:,} orders: {time.process_time() - cpu:.2f} s CPU, "
        f"{time.perf_counter() - wall:.2f} s wall, archive {_archive_mb(request):.1f} MB encrypted; "
        f"worker's peak RSS {peak_before:.0f} MB before the job, {_peak_rss_mb():.0f} MB after; "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    recreate_database(URL)
    setup_django(URL)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from rapport.commerce import services as commerce_services
    from rapport.core.actor import Actor
    from rapport.customers import services as customer_services
    from rapport.events.models import Event
    from rapport.events.services import create_source
    from rapport.privacy import services

    actor = Actor.system("bench")
    from rapport.core import jobs

    settings.RAPPORT_JOBS_SYNC = False
    jobs._start = lambda task, args, kwargs: None  # the job's message waits (a worker's): timed apart
    source = create_source(data={"name": "Shop", "identity_channel": "web"}, actor=actor)
    customer = customer_services.create_customer(data={"name": "Big Buyer", "phone": "13900000001"}, actor=actor)
    now = timezone.now()
    for offset in range(0, EVENTS, BATCH):
        Event.objects.bulk_create(
            Event(
                source=source,
                message_id=f"m{offset + i}",
                type="track",
                name="Product Viewed",
                customer=customer,
                properties={"sku": f"S{(offset + i) % 300}", "price": (offset + i) % 97},
                timestamp=now - dt.timedelta(minutes=offset + i),
                received_at=now,
            )
            for i in range(min(BATCH, EVENTS - offset))
        )
    commerce_services.upsert_product(data={"sku": "S1", "name": "Tea", "price": "28.00"}, actor=actor)
    for n in range(ORDERS):
        commerce_services.upsert_order(
            data={
                "channel": "web",
                "external_id": f"o-{n}",
                "customer_id": customer.pk,
                "placed_at": (now - dt.timedelta(days=n % 700)).isoformat(),
                "lines": [{"sku": "S1", "quantity": 1 + n % 3}],
            },
            actor=actor,
        )
    request = services.receive_request(customer=customer, kind="access", source="store", actor=actor)
    request = services.verify_request(request, method="id_document", note="ID card", actor=actor)
    cpu, wall = time.process_time(), time.perf_counter()
    with transaction.atomic():
        services.fulfil_request(request, actor=actor)
    print(
        f"fulfil (the request): {1000 * (time.process_time() - cpu):.0f} ms CPU, "
        f"{1000 * (time.perf_counter() - wall):.0f} ms wall"
    )
    subprocess.run([sys.executable, __file__, "--job", str(request.pk)], check=True)
    drop_database(URL)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--job"]:
        job(int(sys.argv[2]))
    else:
        main()
