"""Campaign dispatch speed: a one-off SMS plan to a 100,000-customer segment, consent and caps on.

Creates a fresh PostgreSQL database (default ``rapport_campaigns``, dropped and created by the
script), migrates it and loads, with ``COPY``: ``--customers`` customers in the target city (an
encrypted phone each, like real data) plus 10% elsewhere; marketing consent on SMS for 95% of
the target customers (the rest must be suppressed: no consent); and for 2% of them two SMS
already sent today, so the daily cap of 2 suppresses them. A local HTTP server is the gateway
sink: it verifies each batch's signature and counts the messages it receives.

Then it times, through Rapport's own services:

* **plan** — ``launch_plan``: the segment enters the plan (``INSERT … SELECT`` with the random
  bucket) and the send step writes every message with its guards (consent, caps, quiet hours,
  de-duplication) as one ``INSERT … SELECT`` per 5,000 enrollments;
* **dispatch** — ``deliver_due`` until nothing is due: claim, decrypt phones, render the
  personalised template, POST signed batches of 500 to the sink, record the outcomes.

and checks that every target customer has exactly one message row, that the sink received
exactly one message per consenting, uncapped customer and none twice. The baseline, measured in
the same run, is a bare ``INSERT … SELECT`` of one row per enrollment into the message table (no
guards, no rendering, no sending): the floor of writing the rows at all.

    .venv/bin/python benchmarks/dispatch_bench.py                      # 100,000 customers
    .venv/bin/python benchmarks/dispatch_bench.py --customers 20000 --database-url postgres://…/other
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scratch_db import recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_campaigns"
SECRET = "bench-gateway-secret"
CITY = "上海"


# The gateway sink ----------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.bad_signatures = 0
        self.requests = 0
        self.lock = threading.Lock()


def start_sink() -> tuple[Sink, str, ThreadingHTTPServer]:
    from rapport.tags.sync import verify

    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            good = verify(SECRET, self.headers["X-Rapport-Timestamp"], body, self.headers["X-Rapport-Signature"])
            batch = json.loads(body)
            with sink.lock:
                sink.requests += 1
                sink.bad_signatures += 0 if good else 1
                for message in batch["messages"]:
                    sink.received[message["to"]] = sink.received.get(message["to"], 0) + 1
            answer = b'{"results": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sink, f"http://127.0.0.1:{server.server_address[1]}/sms", server


# Data ------------------------------------------------------------------------------------------


def _copy(cursor: Any, table: str, columns: list[str], rows: Iterator[str]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for i, line in enumerate(rows, 1):
            buffer.write(line)
            if i % 20_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(target: int, seed: int) -> dict[str, int]:
    """Customers (10% outside the segment), SMS consent for 95%, and 2% already at today's cap."""
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core import pii

    rng = random.Random(seed)
    total = target + target // 10
    now = timezone.now()
    moment = now.isoformat()
    consenting = [i for i in range(1, target + 1) if rng.random() < 0.95]
    capped = set(rng.sample(consenting, target // 50))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_store (id, code, name, city, time_zone, currency, is_online, is_active, created_at) "
            "VALUES (1, 'sh-01', 'Shanghai', '上海', 'Asia/Shanghai', 'CNY', false, true, now())"
        )

        def customers() -> Iterator[str]:
            for i in range(1, total + 1):
                phone = f"+86139{i:08d}"
                city = CITY if i <= target else "北京"
                yield (
                    f"{i}\tCustomer {i}\t\t{pii.encrypt(phone)}\t{pii.phone_index(phone)}\t\t\t{city}\tmember\t"
                    f"{moment}\tweb\t1\t{{}}\t{moment}\t{moment}\n"
                )

        _copy(
            cursor,
            "customers_customer",
            [
                "id",
                "name",
                "gender",
                "phone",
                "phone_index",
                "email",
                "id_number",
                "city",
                "member_status",
                "registered_at",
                "registration_channel",
                "store_id",
                "custom_fields",
                "created_at",
                "updated_at",
            ],
            customers(),
        )
        cursor.execute(f"SELECT setval('customers_customer_id_seq', {total})")
        _copy(
            cursor,
            "customers_consent",
            ["customer_id", "channel", "purpose", "granted", "source", "updated_at"],
            (f"{i}\tsms\tmarketing\tt\timport\t{moment}\n" for i in consenting),
        )
        earlier = (now - dt.timedelta(hours=2)).isoformat()
        _copy(
            cursor,
            "campaigns_message",
            [
                "customer_id",
                "channel",
                "purpose",
                "variant",
                "dedup_group",
                "reference",
                "status",
                "reason",
                "not_before",
                "attempts",
                "error",
                "created_at",
                "sent_at",
            ],
            (
                f"{i}\tsms\tmarketing\t\t\tearlier today\tsent\t\t{earlier}\t1\t\t{earlier}\t{earlier}\n"
                for i in sorted(capped)
                for _ in range(2)
            ),
        )
        cursor.execute("ANALYZE")
    print(
        f"  loaded {total:,} customers, {len(consenting):,} consents, {len(capped):,} at the cap "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return {"target": target, "consenting": len(consenting), "capped": len(capped)}


# Run ---------------------------------------------------------------------------------------------


def baseline(plan_id: int) -> float:
    """A bare INSERT … SELECT of one message row per enrollment, rolled back: the write floor."""
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_message (plan_id, enrollment_id, customer_id, channel, purpose, variant, "
                "dedup_group, reference, status, reason, not_before, attempts, error, created_at) "
                "SELECT plan_id, id, customer_id, 'sms', 'marketing', '', '', '', 'planned', '', now(), 0, '', now() "
                "FROM campaigns_enrollment WHERE plan_id = %s",
                [plan_id],
            )
            raise Rollback
    except Rollback:
        pass
    return time.perf_counter() - started


def run(counts: dict[str, int], sink: Sink, url: str) -> dict[str, Any]:
    from django.db.models import Count

    from rapport.campaigns import services
    from rapport.campaigns.delivery import channels
    from rapport.campaigns.models import ChannelPolicy, Message
    from rapport.core.actor import Actor
    from rapport.segments import services as segment_services

    actor = Actor.system("dispatch bench")
    from django.urls import reverse

    reverse("campaigns:unsubscribe", args=["warm"])  # a running server has its URLconf loaded
    ChannelPolicy.objects.create(
        channel="sms", gateway_url=url, gateway_secret=SECRET, daily_cap=2, weekly_cap=5, max_attempts=3
    )
    segment = segment_services.save_segment(
        data={"name": "上海", "rule": {"type": "profile", "field": "city", "op": "eq", "value": CITY}}, actor=actor
    )
    template = services.save_template(
        data={
            "name": "Double 11",
            "channel": "sms",
            "body": "{{ customer.name }}, 双11 20% off: https://shop.example.com/d11",
        },
        actor=actor,
    )
    plan = services.save_plan(
        data={
            "name": "Double 11 SMS",
            "kind": "one_off",
            "segment": segment.pk,
            "respect_quiet_hours": False,
            "steps": [{"kind": "send", "config": {"channel": "sms", "variants": [{"template": template.pk}]}}],
        },
        actor=actor,
    )

    started = time.perf_counter()
    services.launch_plan(plan, actor=actor)
    services.run_plan(plan, deliver=False)
    planned_at = time.perf_counter()
    rounds = 0
    while channels.deliver_due(limit=10_000):
        rounds += 1
    finished = time.perf_counter()
    floor = baseline(plan.pk)

    per_customer = Message.objects.filter(plan=plan).values("customer_id").annotate(n=Count("pk"))
    duplicates = per_customer.filter(n__gt=1).count()
    statuses = dict(
        Message.objects.filter(plan=plan).values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    reasons = dict(
        Message.objects.filter(plan=plan, status="suppressed")
        .values_list("reason")
        .annotate(n=Count("pk"))
        .values_list("reason", "n")
    )
    expected_sent = counts["consenting"] - counts["capped"]
    checks = {
        "one row per target customer": per_customer.count() == counts["target"] and duplicates == 0,
        "sink got each sent customer once": len(sink.received) == expected_sent and set(sink.received.values()) == {1},
        "sent = consenting − capped": statuses.get("sent", 0) == expected_sent,
        "no consent suppressed": reasons.get("no_consent", 0) == counts["target"] - counts["consenting"],
        "capped suppressed": reasons.get("frequency_cap", 0) == counts["capped"],
        "all signatures valid": sink.bad_signatures == 0,
    }
    messages = counts["target"]
    return {
        "messages": messages,
        "plan_s": planned_at - started,
        "dispatch_s": finished - planned_at,
        "total_s": finished - started,
        "baseline_s": floor,
        "statuses": statuses,
        "reasons": reasons,
        "requests": sink.requests,
        "rounds": rounds,
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the target segment")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    print(
        f"dispatch_bench: {args.customers:,} customers in the segment, {platform.python_version()} on "
        f"{platform.machine()} with {os.cpu_count()} cores",
        flush=True,
    )
    recreate_database(args.database_url)
    setup_django(args.database_url, jobs_inline=True)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    counts = load(args.customers, args.seed)
    sink, url, server = start_sink()
    try:
        result = run(counts, sink, url)
    finally:
        server.shutdown()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    n = result["messages"]
    print(f"\nPostgreSQL {version}; {n:,} messages (one per target customer: sent or suppressed with a reason)")
    print(f"  plan      {result['plan_s']:6.2f} s  {n / result['plan_s']:>9,.0f} messages/s  (enter + guarded insert)")
    print(
        f"  dispatch  {result['dispatch_s']:6.2f} s  {result['statuses'].get('sent', 0) / result['dispatch_s']:>9,.0f} "
        f"sends/s     ({result['requests']} signed batches to the local sink)"
    )
    print(f"  total     {result['total_s']:6.2f} s  {n / result['total_s']:>9,.0f} messages/s  (goal ≥ 5,000)")
    print(
        f"  baseline  {result['baseline_s']:6.2f} s  bare INSERT … SELECT of the rows; plan+dispatch is "
        f"{result['total_s'] / result['baseline_s']:.1f}× the floor"
    )
    print(f"  statuses {result['statuses']}; suppressed by reason {result['reasons']}")
    for name, ok in result["checks"].items():
        print(f"  check: {name}: {'OK' if ok else 'FAILED'}")
    if not all(result["checks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
