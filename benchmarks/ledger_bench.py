"""Points ledger throughput on PostgreSQL with 50 concurrent workers, and a double-spend count.

Two cases, each for ``--seconds`` (default 20):

* **spread** — 10,000 accounts (``--accounts``); every transaction picks a random account and
  earns (``points.award``) or spends (``points.spend``) through the real services: row lock on
  the account, idempotency check, entry, lot (earn) or FIFO lot consumption (spend), balance.
* **hot** — every worker earns and spends on one account, so every transaction queues on the
  same row lock.

Workers are ``--processes`` processes × ``--threads`` threads (default 5 × 10 = 50 connections):
Django's ORM holds the GIL while it builds queries, so one process of 50 threads would measure
Python, not the database. Each worker also retries one in ten spends with the key it just used,
which must return the first entry and write nothing.

Printed per case: transactions/s, p50/p95/p99 latency, refused spends (balance too low), and a
baseline measured in the same run: the same number of workers doing the bare minimum a
transaction needs (``UPDATE … SET balance = balance + x`` on the same rows, one statement per
transaction). Afterwards every account is checked — balance equals the sum of its entries and of
its lots, never below zero, no idempotency key twice, one spend entry per accepted spend — and
the number of violations is printed as double-spends (must be 0).

    .venv/bin/python benchmarks/ledger_bench.py                       # 10,000 accounts, 50 workers
    .venv/bin/python benchmarks/ledger_bench.py --seconds 10 --accounts 2000

The database (``--postgres-url``, default postgres://postgres@127.0.0.1:5432/rapport_loyalty_bench)
is dropped and created by the script and dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from scratch_db import drop_database, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_loyalty_bench"
START_BALANCE = 5000


def seed(url: str, accounts: int) -> list[int]:
    """``accounts`` customers with a points account holding START_BALANCE in one lot each, in bulk."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-m", "rapport", "migrate", "-v", "0"], env=env, check=True)
    setup_django(url)
    from decimal import Decimal

    from django.utils import timezone

    from rapport.customers.models import Customer
    from rapport.loyalty.models import Account, Asset, Entry, EntryKind, ExpiryPolicy, Lot
    from rapport.loyalty.services.program import program_settings

    program = program_settings()
    program.points_expiry = ExpiryPolicy.NEVER
    program.save()
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Bench {i}", registered_at=now) for i in range(accounts + 1)], batch_size=5000
    )
    rows = Account.objects.bulk_create(
        [Account(customer=c, asset=Asset.POINTS, balance=Decimal(START_BALANCE)) for c in customers], batch_size=5000
    )
    entries = Entry.objects.bulk_create(
        [
            Entry(
                account=a,
                kind=EntryKind.EARN,
                amount=Decimal(START_BALANCE),
                balance_after=Decimal(START_BALANCE),
                idempotency_key=f"seed:{a.pk}",
                occurred_at=now,
                actor="bench",
            )
            for a in rows
        ],
        batch_size=5000,
    )
    Lot.objects.bulk_create(
        [Lot(account=e.account, entry=e, earned_at=now, amount=e.amount, remaining=e.amount) for e in entries],
        batch_size=5000,
    )
    return [c.pk for c in customers]


# Workers -----------------------------------------------------------------------------------------


def _ledger_worker(
    url: str, customer_ids: list[int], seconds: float, threads: int, seed_value: int, queue: Any
) -> None:
    setup_django(url)
    from django.db import connections

    from rapport.core.actor import Actor
    from rapport.core.errors import Conflict
    from rapport.customers.models import Customer
    from rapport.loyalty.services import points

    actor = Actor.system("bench")
    run_id = time.time_ns()  # keys never repeat across cases and runs
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
    ids = list(customers)
    barrier = threading.Barrier(threads)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        rng = random.Random(seed_value * 1000 + index)
        latencies: list[float] = []
        done = refused = replays = replay_writes = spends = 0
        errors: list[str] = []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        try:
            while time.perf_counter() < deadline:
                customer = customers[rng.choice(ids)]
                key = f"b{run_id}.{seed_value}.{index}.{done}"
                started = time.perf_counter()
                if rng.random() < 0.5:
                    points.award(customer, points=rng.randint(1, 50), key=key, actor=actor)
                else:
                    amount = rng.randint(1, 60)
                    try:
                        first = points.spend(customer, points=amount, key=key, actor=actor)
                        spends += 1
                        if rng.random() < 0.1:  # a client retry with the same key
                            again = points.spend(customer, points=amount, key=key, actor=actor)
                            replays += 1
                            replay_writes += int(again.pk != first.pk)
                    except Conflict:
                        refused += 1
                latencies.append(time.perf_counter() - started)
                done += 1
        except Exception as exc:  # reported, so a failing worker is never silently missing
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()
        with lock:
            results.append(
                {
                    "done": done,
                    "refused": refused,
                    "spends": spends,
                    "replays": replays,
                    "replay_writes": replay_writes,
                    "latencies": latencies,
                    "errors": errors,
                }
            )

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(results)


def _baseline_worker(
    url: str, account_ids: list[int], seconds: float, threads: int, seed_value: int, queue: Any
) -> None:
    """The floor: one autocommitted UPDATE per transaction on the same rows (it rewrites the row
    and takes its lock like a ledger write, but leaves the balance as it is so the audit holds)."""
    import psycopg

    barrier = threading.Barrier(threads)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        rng = random.Random(seed_value * 1000 + index)
        latencies: list[float] = []
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            barrier.wait()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                conn.execute("UPDATE loyalty_account SET balance = balance WHERE id = %s", (rng.choice(account_ids),))
                latencies.append(time.perf_counter() - started)
        with lock:
            results.append({"done": len(latencies), "latencies": latencies})

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(results)


def run_case(target: Any, url: str, ids: list[int], args: argparse.Namespace) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(url, ids, args.seconds, args.threads, p + 1, queue))
        for p in range(args.processes)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    collected: list[dict[str, Any]] = []
    for _ in processes:
        collected.extend(queue.get())
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for r in collected for x in r["latencies"])
    done = sum(r["done"] for r in collected)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "transactions": done,
        "tx_per_s": round(done / args.seconds, 1),
        "wall_s": round(elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
        "refused": sum(r.get("refused", 0) for r in collected),
        "spends": sum(r.get("spends", 0) for r in collected),
        "replays": sum(r.get("replays", 0) for r in collected),
        "replay_writes": sum(r.get("replay_writes", 0) for r in collected),
        "errors": sorted({e for r in collected for e in r.get("errors", [])})[:5],
    }


def audit(url: str, accepted_spends: int) -> dict[str, int]:
    """Count every way money could have been spent twice; all must be zero."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        mismatched = conn.execute(
            """SELECT count(*) FROM loyalty_account a
               WHERE a.balance <> COALESCE((SELECT sum(amount) FROM loyalty_entry e WHERE e.account_id = a.id), 0)
                  OR a.balance <> COALESCE((SELECT sum(remaining) FROM loyalty_lot l WHERE l.account_id = a.id), 0)
                  OR a.balance < 0"""
        ).fetchone()[0]
        duplicate_keys = conn.execute(
            "SELECT count(*) FROM (SELECT idempotency_key FROM loyalty_entry GROUP BY 1 HAVING count(*) > 1) d"
        ).fetchone()[0]
        spend_entries = conn.execute("SELECT count(*) FROM loyalty_entry WHERE kind = 'spend'").fetchone()[0]
        overdrawn_lots = conn.execute(
            """SELECT count(*) FROM loyalty_lot l
               WHERE l.amount - l.remaining
                     <> COALESCE((SELECT sum(amount) FROM loyalty_lotuse u WHERE u.lot_id = l.id), 0)"""
        ).fetchone()[0]
    return {
        "accounts_not_matching_entries_or_lots": mismatched,
        "duplicate_idempotency_keys": duplicate_keys,
        "spend_entries_beyond_accepted_spends": max(spend_entries - accepted_spends, 0),
        "lots_used_more_than_recorded": overdrawn_lots,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=10, help="threads per process")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = args.postgres_url
    workers = args.processes * args.threads
    print(
        f"ledger_bench: {args.accounts} accounts, {workers} workers "
        f"({args.processes}×{args.threads}), {args.seconds}s per case"
    )
    recreate_database(url)
    try:
        customer_ids = seed(url, args.accounts)
        hot, spread = customer_ids[:1], customer_ids[1:]
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            account_of = dict(conn.execute("SELECT customer_id, id FROM loyalty_account").fetchall())
        report: dict[str, Any] = {"accounts": args.accounts, "workers": workers, "seconds": args.seconds}
        report["spread"] = run_case(_ledger_worker, url, spread, args)
        report["spread_baseline"] = run_case(_baseline_worker, url, [account_of[c] for c in spread], args)
        report["hot"] = run_case(_ledger_worker, url, hot, args)
        report["hot_baseline"] = run_case(_baseline_worker, url, [account_of[hot[0]]], args)
        accepted = report["spread"]["spends"] + report["hot"]["spends"]
        report["audit"] = audit(url, accepted)
        report["double_spends"] = (
            sum(report["audit"].values()) + report["spread"]["replay_writes"] + report["hot"]["replay_writes"]
        )
        for case in ("spread", "hot"):
            ratio = report[case]["tx_per_s"] / max(report[f"{case}_baseline"]["tx_per_s"], 1)
            report[case]["vs_baseline"] = round(ratio, 3)
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
