"""Launch estimate speed and accuracy: the reach of a one-off SMS plan to a 100,000-customer segment.

Loads the same data as ``dispatch_bench.py`` into a fresh PostgreSQL database (default
``rapport_canvas``, dropped and created by the script): ``--customers`` customers in 上海 plus 10%
elsewhere, SMS marketing consent for 95% of them, 2% already at today's SMS cap. Then it times
``reach.estimate`` (the launch confirmation's figures: one aggregate query for the channel, one
count for the audience) against a baseline measured in the same run — counting the segment alone,
the least any reach figure costs — and then runs the plan (``run_plan`` without delivery: the
segment enters, the send step writes its guarded message rows) to check that the estimate's
figures are what the engine then did: messages planned, suppressed for no consent, at the cap.

    .venv/bin/python benchmarks/reach_bench.py                      # 100,000 customers
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from dispatch_bench import CITY, load
from scratch_db import recreate_database, setup_django

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_canvas"


def timed(call: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(counts: dict[str, int], repeat: int) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from rapport.campaigns import services
    from rapport.campaigns.journeys import reach
    from rapport.campaigns.models import Message, Plan
    from rapport.core.actor import Actor
    from rapport.segments import services as segment_services
    from rapport.segments.compiler import members

    actor = Actor.system("reach bench")
    segment = segment_services.save_segment(
        data={"name": "上海", "rule": {"type": "profile", "field": "city", "op": "eq", "value": CITY}}, actor=actor
    )
    template = services.save_template(
        data={"name": "Double 11", "channel": "sms", "body": "{{ customer.name }}, 双11: https://shop.example.com"},
        actor=actor,
    )
    plan = services.save_plan(
        data={
            "name": "Double 11 SMS",
            "kind": "one_off",
            "segment": segment.pk,
            "control_percent": 0,
            "respect_quiet_hours": False,
            "steps": [{"kind": "send", "config": {"channel": "sms", "variants": [{"template": template.pk}]}}],
        },
        actor=actor,
    )
    baseline_s, audience = timed(lambda: members(segment.rule).count(), repeat)
    estimate_s, figures = timed(lambda: reach.estimate(plan), repeat)
    # What the engine then does: the plan runs (entering, guarded message rows), nothing is sent.
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.RUNNING, next_run_at=timezone.now())
    started = time.perf_counter()
    services.run_plan(plan, deliver=False)
    plan_s = time.perf_counter() - started
    rows = dict(
        Message.objects.filter(plan=plan).values_list("reason").annotate(n=Count("pk")).values_list("reason", "n")
    )
    sms = figures.channels[0]
    checks = {
        "audience = segment": figures.audience == audience == counts["target"],
        "messages = planned by the engine": sms.messages == rows.get("", 0),
        "no consent = suppressed for it": counts["target"] - sms.with_consent == rows.get("no_consent", 0),
        "capped = suppressed at the cap": sms.frequency_capped == rows.get("frequency_cap", 0) == counts["capped"],
    }
    return {
        "baseline_s": baseline_s,
        "estimate_s": estimate_s,
        "plan_s": plan_s,
        "figures": figures,
        "rows": rows,
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the target segment")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (the median is shown)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"reach_bench: {args.customers:,} customers in the segment", flush=True)
    os.environ.setdefault("RAPPORT_DATA_DIR", tempfile.mkdtemp(prefix="reach-bench-"))
    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    counts = load(args.customers, args.seed)
    result = run(counts, args.repeat)
    sms = result["figures"].channels[0]
    print(f"  estimate  {result['estimate_s'] * 1000:8.1f} ms  (median of {args.repeat}; audience + one channel query)")
    print(f"  baseline  {result['baseline_s'] * 1000:8.1f} ms  counting the segment alone")
    print(f"  planning  {result['plan_s'] * 1000:8.1f} ms  the engine entering the segment and writing the rows")
    print(
        f"  figures: audience {result['figures'].audience:,}, address {sms.with_address:,}, consent "
        f"{sms.with_consent:,}, reachable {sms.reachable:,}, capped {sms.frequency_capped:,}, messages "
        f"{sms.messages:,}, {result['figures'].send_minutes} min to send"
    )
    print(f"  engine rows by reason: {result['rows']}")
    for name, ok in result["checks"].items():
        print(f"  check: {name}: {'OK' if ok else 'FAILED'}")
    if not all(result["checks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
