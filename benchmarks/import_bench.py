"""Import speed: generated customers and orders through ``rapport import`` into PostgreSQL and SQLite.

Generates N customers (default 100,000) and M orders (default 1,000,000, one line each, about
ten per customer) as CSV into a temporary folder, imports both files into a fresh PostgreSQL
database and a fresh SQLite file through the real import service (cleaners, upsert services,
history, audit, statistics, batches with a savepoint per row), and prints rows/s for each.
For the limit, the same CSV rows are loaded with PostgreSQL ``COPY`` into plain tables with
no constraints or indexes, and the ratio COPY rows/s : import rows/s is printed.

    .venv/bin/python benchmarks/import_bench.py --customers 10000 --orders 100000

PostgreSQL: ``--postgres-url`` (default postgres://postgres@127.0.0.1:5432/rapport_bench); the
database is dropped and created by the script, and dropped again at the end (``--keep`` keeps
it). Each import runs in its own process, since the database is chosen when Django starts.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch_db import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_bench"
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "Suzhou", "Xiamen"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
STATUSES = ["paid", "paid", "paid", "shipped", "completed", "completed", "cancelled"]


# Data ----------------------------------------------------------------------------------------


def generate(folder: Path, customers: int, orders: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    customer_path = folder / "customers.csv"
    order_path = folder / "orders.csv"
    start = dt.datetime(2023, 1, 1)
    with customer_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户编号", "姓名", "手机号", "邮箱", "性别", "城市", "注册时间"])
        for i in range(customers):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            registered = start + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            writer.writerow(
                [
                    f"C{i:07d}",
                    name,
                    f"139{i:08d}",  # unique, valid mainland mobile numbers
                    f"c{i}@example.com" if rng.random() < 0.7 else "",
                    rng.choice(["男", "女", ""]),
                    rng.choice(CITIES),
                    registered.strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
    with order_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["订单号", "客户编号", "下单时间", "订单状态", "商品编码", "商品名称", "数量", "单价", "运费"])
        for i in range(orders):
            placed = start + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            sku = rng.randrange(500)
            writer.writerow(
                [
                    f"O{i:08d}",
                    f"C{rng.randrange(max(customers, 1)):07d}",
                    placed.strftime("%Y-%m-%d %H:%M:%S"),
                    rng.choice(STATUSES),
                    f"SKU-{sku:04d}",
                    f"商品 {sku}",
                    rng.choice([1, 1, 1, 2, 2, 3]),
                    f"{9 + sku % 200}.{rng.choice(['00', '50', '90'])}",
                    rng.choice(["0", "0", "8.00", "12.00"]),
                ]
            )
    return customer_path, order_path


# One import, in a process of its own ------------------------------------------------------------


def worker(kind: str, path: str, batch_size: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.db import connection

    from rapport.core.actor import Actor, Source
    from rapport.imports.services import import_file

    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    load_before = os.getloadavg()[0]
    python_before, backend_before = time.process_time(), process_cpu(backend)
    with connection.execute_wrapper(count):
        result = import_file(
            path, kind=kind, actor=Actor(source=Source.IMPORT, label="benchmark"), batch_size=batch_size
        )
    python_cpu, backend_cpu = time.process_time() - python_before, process_cpu(backend) - backend_before
    print(
        json.dumps(
            {
                "kind": kind,
                "rows": result.processed_rows,
                "created": result.created,
                "updated": result.updated,
                "rejected": result.rejected,
                "seconds": result.seconds,
                "statements": statements,
                "load": (load_before + os.getloadavg()[0]) / 2,
                "python_cpu": python_cpu,
                "database_cpu": backend_cpu,
                "first_errors": [e.__dict__ for e in result.first_errors[:3]],
            }
        )
    )


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a local process has used so far, from /proc; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_import(kind: str, path: Path, env: dict[str, str], batch_size: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", kind, str(path), "--batch-size", str(batch_size)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cpu_ms(result: dict[str, object], key: str) -> float:
    return 1000 * float(result.get(key) or 0) / max(float(result["rows"]), 1)  # type: ignore[arg-type]


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "rapport", "migrate", "-v", "0"], env=env, check=True)


# PostgreSQL ----------------------------------------------------------------------------------


def copy_limit(url: str, customers: Path, orders: Path) -> dict[str, float]:
    """COPY the same CSV rows into plain tables: the speed limit of getting rows into PostgreSQL."""
    import psycopg

    results = {}
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        for table, path, columns in [
            ("bench_copy_customers", customers, 7),
            ("bench_copy_orders", orders, 9),
        ]:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} ({', '.join(f'c{i} text' for i in range(columns))})")
            conn.commit()
            started = time.monotonic()
            statement = f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
            with conn.cursor() as cursor, cursor.copy(statement) as copy, path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            conn.commit()
            seconds = time.monotonic() - started
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            results[table] = rows / seconds if seconds else 0.0
            conn.execute(f"DROP TABLE {table}")
            conn.commit()
    return {"customers": results["bench_copy_customers"], "orders": results["bench_copy_orders"]}


# Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database and the temp folder")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.batch_size)
        return

    folder = Path(tempfile.mkdtemp(prefix="rapport-import-bench-"))
    print(f"generating {args.customers:,} customers and {args.orders:,} orders in {folder}", flush=True)
    started = time.monotonic()
    customer_csv, order_csv = generate(folder, args.customers, args.orders)
    print(f"  generated in {time.monotonic() - started:.1f} s", flush=True)
    base_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAPPORT_DATA_DIR": str(folder / "var")}

    rows: list[tuple[str, str, dict[str, object]]] = []
    targets = []
    if not args.skip_postgres:
        targets.append(("postgresql", args.postgres_url))
    if not args.skip_sqlite:
        targets.append(("sqlite", f"sqlite:///{folder / 'bench.sqlite3'}"))
    copy_rates: dict[str, float] = {}
    for label, url in targets:
        env = {**base_env, "DATABASE_URL": url}
        if label == "postgresql":
            recreate_database(url)
        migrate(env)
        for kind, path in [("customers", customer_csv), ("orders", order_csv)]:
            print(f"{label}: importing {kind} …", flush=True)
            result = run_import(kind, path, env, args.batch_size)
            rate = float(result["rows"]) / float(result["seconds"])  # type: ignore[arg-type]
            python_ms, database_ms = cpu_ms(result, "python_cpu"), cpu_ms(result, "database_cpu")
            print(
                f"  {result['rows']:,} rows in {result['seconds']:.1f} s: {rate:,.0f} rows/s "
                f"(created {result['created']:,}, updated {result['updated']:,}, rejected {result['rejected']:,}; "
                f"{float(result['statements']) / float(result['rows']):.1f} SQL statements per row; "  # type: ignore[arg-type]
                f"CPU per row: Python {python_ms:.2f} ms, database {database_ms:.2f} ms; "
                f"load average {result['load']:.1f})",
                flush=True,
            )
            if result["rejected"]:
                print(f"  first errors: {result['first_errors']}", flush=True)
            rows.append((label, kind, result))
        if label == "postgresql":
            copy_rates = copy_limit(url, customer_csv, order_csv)
            if not args.keep:
                drop_database(url)

    print()
    print(
        f"{'database':<11} {'file':<10} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'SQL/row':>8} {'CPU ms/row':>11} "
        f"{'idle rows/s':>12} {'load':>5} {'COPY rows/s':>12} {'COPY ÷ import':>14}"
    )
    for label, kind, result in rows:
        rate = float(result["rows"]) / float(result["seconds"])  # type: ignore[arg-type]
        per_row = float(result["statements"]) / float(result["rows"])  # type: ignore[arg-type]
        cpu = cpu_ms(result, "python_cpu") + cpu_ms(result, "database_cpu")
        limit = copy_rates.get(kind)
        limit_text = f"{limit:>12,.0f} {limit / rate:>13,.0f}×" if limit else f"{'':>12} {'':>14}"
        print(
            f"{label:<11} {kind:<10} {result['rows']:>10,} {result['seconds']:>9.1f} {rate:>9,.0f} "
            f"{per_row:>8.1f} {cpu:>11.2f} {1000 / cpu:>12,.0f} {result['load']:>5.1f} {limit_text}"
        )
    print("\nCOPY: the same CSV rows into a plain PostgreSQL table (no constraints, indexes or checks).")
    print("SQL/row: statements sent per file row, savepoints included. CPU ms/row: the import process plus its")
    print("PostgreSQL backend (SQLite runs inside the process); idle rows/s = 1000 ÷ CPU ms/row, what the one-row-")
    print("at-a-time import would reach on an idle machine. load: the 1-minute load average during the import.")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
