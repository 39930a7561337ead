"""Recommendations at scale on PostgreSQL: (a) the nightly training — read every counted order line,
fit ALS, score every customer (with reasons and the content matches for untouched products),
write the lists, bought-together and similar products — then (b) the backtest of ALS against
popularity on the same data, and (c) ``GET /api/v1/customers/{id}/recommendations`` and
``GET /api/v1/products/{sku}/related`` over HTTP (waitress, as ``rapport run`` serves) with 10
concurrent clients, rate limit lifted for the run: latency percentiles and the server's CPU per
request (the fair figure on a shared machine).

The generated shop has taste: each customer leans to one of 100 product groups (half their lines
from it, the rest by overall popularity), so collaborative filtering has something to find.
Orders hold 1 to 4 lines. Loaded with COPY, foreign-key triggers off, indexes built after.

    .venv/bin/python benchmarks/recommend_bench.py                          # 1M / 10M lines / 20k products
    .venv/bin/python benchmarks/recommend_bench.py --customers 100000 --lines 1000000
    .venv/bin/python benchmarks/recommend_bench.py --reuse --steps get     # the endpoints again
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scratch_db import recreate_database, setup_django  # noqa: E402
from segment_bench import _copy, _customers, _drop_indexes  # noqa: E402

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_stock_bench"
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
GROUPS = 100
DAYS = 365
PORT = 18765
CHUNK = 100_000  # rows formatted at once for COPY


def _orders_and_lines(customers: int, lines: int, products: int, seed: int) -> tuple[Iterator[str], Iterator[str], int]:
    """COPY rows of orders and their lines, drawn with numpy (customers' tastes, Zipf popularity)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=lines // 2)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), lines) + 1]
    sizes[-1] -= sizes.sum() - lines
    sizes = sizes[sizes > 0]
    n_orders = len(sizes)
    buyer = 1 + (customers * rng.random(n_orders) ** 1.6).astype(np.int64)
    buyer = np.minimum(buyer, customers)
    placed = rng.integers(0, DAYS * 1440, size=n_orders)
    order_of_line = np.repeat(np.arange(n_orders), sizes)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    popularity /= popularity.sum()
    overall = rng.choice(products, size=lines, p=popularity)
    taste = (buyer[order_of_line] * 7919) % GROUPS
    group_size = products // GROUPS
    within = np.minimum((rng.pareto(1.2, size=lines) * 3).astype(np.int64), group_size - 1)
    from_taste = taste * group_size + within
    product = 1 + np.where(rng.random(lines) < 0.5, from_taste, overall)
    start64 = np.datetime64((NOW - dt.timedelta(days=DAYS)).replace(tzinfo=None), "m")

    def orders() -> Iterator[str]:
        money = "100.00\t0\t0\t100.00\t0"  # subtotal, discount, shipping, total, refunded
        for first in range(0, n_orders, CHUNK):
            stamps = np.datetime_as_string(start64 + placed[first : first + CHUNK], unit="m").tolist()
            buyers = buyer[first : first + CHUNK].tolist()
            yield "".join(
                f"{i}\t{b}\t\\N\tweb\tO{i}\tpaid\tCNY\t{money}\t{t}+00\t{t}+00\t{t}+00\n"
                for i, b, t in zip(range(first + 1, first + 1 + len(buyers)), buyers, stamps, strict=True)
            )

    def order_lines() -> Iterator[str]:
        for first in range(0, lines, CHUNK):
            chunk_products = product[first : first + CHUNK].tolist()
            chunk_orders = (order_of_line[first : first + CHUNK] + 1).tolist()
            yield "".join(
                f"{i}\t{o}\t{p}\tSKU-{p:05d}\tProduct {p}\t1\t50.00\t50.00\n"
                for i, o, p in zip(
                    range(first + 1, first + 1 + len(chunk_products)), chunk_orders, chunk_products, strict=True
                )
            )

    return orders(), order_lines(), n_orders


def _copy_chunks(cursor: Any, table: str, columns: list[str], chunks: Iterator[str], label: str) -> None:
    """COPY text already formatted in chunks, FREEZE (the table was emptied in this transaction): no
    VACUUM needs to rewrite the pages afterwards."""
    started = time.perf_counter()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)") as copy:
        for chunk in chunks:
            copy.write(chunk)
    print(f"  {label} in {time.perf_counter() - started:.0f} s", flush=True)


def load(customers: int, lines: int, products: int, seed: int) -> None:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers during the load
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")  # index builds sort in memory
        cursor.execute("TRUNCATE customers_customer CASCADE")  # emptied in this transaction: COPY FREEZE
        for i in range(1, GROUPS + 1):
            cursor.execute(
                "INSERT INTO commerce_category (id, code, name) VALUES (%s, %s, %s)", [i, f"g-{i}", f"组 {i}"]
            )
        cursor.execute(
            "INSERT INTO commerce_product (id, sku, name, category_id, price, currency, is_active, brand, description, "
            "image_url, product_url, spu, variant, created_at, updated_at) "
            "SELECT i, 'SKU-' || lpad(i::text, 5, '0'), '商品 ' || i, 1 + (i - 1) / %s, 50, 'CNY', true, "
            "'品牌 ' || (i %% 50), '', '', '', '', '', now(), now() FROM generate_series(1, %s) i",
            [products // GROUPS, products],
        )
        tables = ["customers_customer", "commerce_order", "commerce_orderline"]
        indexes = _drop_indexes(cursor, tables)
        columns = "id name gender birthday phone email id_number city member_status registered_at"
        columns += " registration_channel store_id custom_fields created_at updated_at"
        rng = random.Random(seed)
        _copy(cursor, "customers_customer", columns.split(), _customers(customers, rng), "customers", customers)
        orders, order_lines, n_orders = _orders_and_lines(customers, lines, products, seed)
        order_columns = "id customer_id store_id channel external_id status currency subtotal discount_total"
        order_columns += " shipping_total total refunded_total placed_at created_at updated_at"
        _copy_chunks(cursor, "commerce_order", order_columns.split(), orders, f"{n_orders:,} orders")
        line_columns = ["id", "order_id", "product_id", "sku", "name", "quantity", "unit_price", "line_total"]
        _copy_chunks(cursor, "commerce_orderline", line_columns, order_lines, f"{lines:,} order lines")
        for definition in indexes:
            cursor.execute(definition)
        for table in ("customers_customer", "commerce_order", "commerce_orderline", "commerce_product"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # cheap after COPY FREEZE: the visibility map is already set
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)


def train() -> dict[str, Any]:
    """The nightly training, with the wall and CPU time of each phase: this process's CPU
    (``implicit``'s threads included) and its PostgreSQL backend's, the fair figures on a shared
    machine."""
    from django.db import connection

    from rapport.recommendations import training

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    started, cpu, database = time.perf_counter(), time.process_time(), _cpu_seconds(backend)

    def say(message: str) -> None:
        print(
            f"  [{time.perf_counter() - started:7.1f} s, CPU {time.process_time() - cpu:6.1f} s"
            f" + database {_cpu_seconds(backend) - database:5.1f} s] {message}",
            flush=True,
        )

    run = training.train(now=NOW, backtest=False, say=say)
    seconds = time.perf_counter() - started
    used, database = time.process_time() - cpu, _cpu_seconds(backend) - database
    print(
        f"training and scoring: {run.customers:,} customers in {seconds:.0f} s,"
        f" CPU {used:.1f} s + database {database:.1f} s, load {os.getloadavg()}",
        flush=True,
    )
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(used, 1),
        "database_cpu_seconds": round(database, 1),
        "customers": run.customers,
        "interactions": run.interactions,
    }


def backtest() -> dict[str, Any]:
    from rapport.recommendations import training

    started = time.perf_counter()
    catalogue = training.load_catalogue()
    feedback = training.load_feedback(catalogue, NOW)
    result = training.run_backtest(feedback, catalogue)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(f"backtest in {result['seconds']} s: ALS {result['als']}  popularity {result['popularity']}", flush=True)
    return result


def _token() -> str:
    from django.contrib.auth import get_user_model

    from rapport.accounts import roles
    from rapport.accounts.scopes import ALL_SCOPES
    from rapport.accounts.services import create_api_token, create_staff_user
    from rapport.core.actor import Actor

    actor = Actor.system("bench")
    user = get_user_model().objects.filter(username="bench-admin").first()  # a --reuse run made it before
    if user is None:
        user = create_staff_user(username="bench-admin", password="bench-password-1", role=roles.ADMIN, actor=actor)
    return create_api_token(user=user, name="bench", scopes=list(ALL_SCOPES), actor=actor)[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc): the server's cost, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float:
    """CPU of a server and its worker processes (gunicorn's workers are the master's children)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return _cpu_seconds(pid) + sum(_tree_cpu_seconds(child) for child in children)


def _database_cpu_seconds(url: str) -> dict[int, float]:
    """CPU of each PostgreSQL backend serving ``url``'s database (the server's connections)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    found = {}
    for (pid,) in pids:
        try:
            found[pid] = _cpu_seconds(pid)
        except FileNotFoundError:  # a backend that closed meanwhile
            continue
    return found


def _database_cpu_since(url: str, before: dict[int, float]) -> float:
    """The backends' CPU since ``before`` (a backend closed meanwhile is not counted: a floor)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in _database_cpu_seconds(url).items())


def _hammer(token: str, paths: list[str], clients: int, requests: int) -> tuple[list[float], dict[int, int], float]:
    """``requests`` GETs of random ``paths`` from ``clients`` keep-alive connections at once."""
    times: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(index: int) -> None:
        rng = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(requests // clients + 5):
            started = time.perf_counter()
            connection.request("GET", rng.choice(paths), headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if n >= 5:  # the first requests of each client warm the server's connections
                with lock:
                    times.append(elapsed)
                    statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return times, statuses, time.perf_counter() - started


def _server_command(server: str, processes: int) -> list[str]:
    """``waitress``: one process with 8 threads, as ``rapport run`` serves; ``gunicorn``: the
    README's production server, ``processes`` workers of 8 threads each."""
    if server == "waitress":
        return [str(Path(sys.executable).parent / "waitress-serve"), f"--port={PORT}", "--threads=8"]
    workers = [f"--workers={processes}", "--worker-class=gthread", "--threads=8"]
    return [sys.executable, "-m", "gunicorn", f"--bind=127.0.0.1:{PORT}", *workers]


def latency(
    url: str, customers: int, products: int, clients: int, requests: int, server_kind: str, processes: int
) -> dict[str, Any]:
    """p50/p95/p99 of both shop endpoints over HTTP, and the CPU per request of the server's
    processes and of its PostgreSQL backends."""
    token = _token()
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "DATABASE_URL": url, "RAPPORT_API_RATE_LIMIT": "100000000", "PYTHONPATH": path}
    server = subprocess.Popen(
        [*_server_command(server_kind, processes), "rapport.wsgi:application"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(0)
    endpoints = {
        "recommendations": [
            f"/api/v1/customers/{rng.randrange(1, customers + 1)}/recommendations" for _ in range(requests)
        ],
        "related": [f"/api/v1/products/SKU-{rng.randrange(1, products + 1):05d}/related" for _ in range(requests)],
    }
    results: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 600  # Django starts slowly on a loaded machine
        while time.monotonic() < deadline and server.poll() is None:
            try:  # an answer, not just the socket: gunicorn listens long before its workers have booted
                probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
                probe.request("GET", "/api/v1/docs")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(1)
        for name, paths in endpoints.items():
            cpu_before, load_before = _tree_cpu_seconds(server.pid), os.getloadavg()[0]
            database_before, client_before = _database_cpu_seconds(url), time.process_time()
            times, statuses, wall = _hammer(token, paths, clients, requests)
            cpu = _tree_cpu_seconds(server.pid) - cpu_before
            database_cpu = _database_cpu_since(url, database_before)
            client_cpu = time.process_time() - client_before
            quantiles = statistics.quantiles(times, n=100)
            results[name] = {
                "clients": clients,
                "requests": len(times),
                "statuses": statuses,
                "p50_ms": round(quantiles[49], 1),
                "p95_ms": round(quantiles[94], 1),
                "p99_ms": round(quantiles[98], 1),
                "requests_per_s": round(len(times) / wall, 1),
                "server": f"{server_kind} x{processes if server_kind == 'gunicorn' else 1}",
                "server_cpu_ms_per_request": round(1000 * cpu / max(len(times), 1), 2),
                "database_cpu_ms_per_request": round(1000 * database_cpu / max(len(times), 1), 2),
                "client_cpu_ms_per_request": round(1000 * client_cpu / max(len(times), 1), 2),
                "load": (round(load_before, 1), round(os.getloadavg()[0], 1)),
            }
            print(f"GET {name}: {results[name]}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=120)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_PG)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--server",
        choices=["gunicorn", "waitress"],
        default="gunicorn",
        help="gunicorn as the README deploys (default) or waitress as `rapport run` serves",
    )
    parser.add_argument("--server-processes", type=int, default=2, help="gunicorn workers (8 threads each)")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database, only train and measure")
    parser.add_argument(
        "--steps", default="train,backtest,get", help="which of train, backtest, get to run (comma-separated)"
    )
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    print(f"{args.customers:,} customers, {args.lines:,} order lines, {args.products:,} products", flush=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    if not args.reuse:
        recreate_database(args.url)
    setup_django(args.url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a reused database may predate the code's migrations
    if not args.reuse:
        load(args.customers, args.lines, args.products, args.seed)
    results: dict[str, Any] = {}
    if "train" in steps:
        results["train"] = train()
    if "backtest" in steps:
        results["backtest"] = backtest()
    if "get" in steps:
        results["get"] = latency(
            args.url, args.customers, args.products, args.clients, args.requests, args.server, args.server_processes
        )
    results["cpu_seconds"] = round(time.process_time(), 1)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, default=str, indent=1))


if __name__ == "__main__":
    main()
