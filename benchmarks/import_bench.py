"""Import speed: generated customers and orders through the set-based import engine, PostgreSQL and SQLite.

Generates N customers (default 100,000) and M orders (default 1,000,000, one to three lines each,
about ten orders per customer) as CSV into a temporary folder, imports both files into a fresh
PostgreSQL database and a fresh SQLite file through ``rapport.imports.services.import_file`` in
history mode (what ``rapport import``, the console and the API run), and prints per phase
(reading, cleaning, merging, recomputing) and in total: rows/s, CPU per row (the import process
and its PostgreSQL backend) and peak memory (RSS) of the import process.

For the limits, measured in the same run on PostgreSQL: ``COPY`` of the same CSV rows into bare
tables (text columns, no constraints or indexes), and ``COPY`` of the same rows, already shaped
as the real tables' rows, into a freshly migrated schema with its indexes and constraints
(customers, identities, orders, order lines): the floor for loading. The machine's load
average is printed with each figure (the machine may be shared).

    .venv/bin/python benchmarks/import_bench.py --customers 10000 --orders 100000

PostgreSQL: ``--postgres-url`` (default postgres://postgres@127.0.0.1:5432/rapport_bench); the
database (and ``<name>_copy`` for the real-schema COPY) is dropped and created by the script,
and dropped again at the end (``--keep`` keeps it). Each import runs in its own process.
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

from scratch_db import database_name, drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_bench"
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "Suzhou", "Xiamen"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
STATUSES = ["paid", "paid", "paid", "shipped", "completed", "completed", "cancelled"]
DISTRICTS = ["浦东新", "朝阳", "天河", "南山", "西湖", "武侯", "鼓楼", "江汉"]
STREETS = ["世纪大道", "建国路", "天河路", "深南大道", "文三路", "人民南路", "中山路", "解放大道"]
LINES_PER_ORDER = [1, 1, 2, 2, 2, 3, 3, 4, 5]  # about 2.5 lines an order


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
        writer.writerow(
            ["订单号", "客户编号", "下单时间", "订单状态", "商品编码", "商品名称", "数量", "单价", "运费", "收货地址"]
        )
        for i in range(orders):
            placed = start + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            customer = f"C{rng.randrange(max(customers, 1)):07d}"
            status = rng.choice(STATUSES)
            shipping = rng.choice(["0", "0", "8.00", "12.00"])
            address = f"{rng.choice(CITIES)}市{rng.choice(DISTRICTS)}区{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
            for sku in rng.sample(range(500), rng.choice(LINES_PER_ORDER)):
                writer.writerow(
                    [
                        f"O{i:08d}",
                        customer,
                        placed.strftime("%Y-%m-%d %H:%M:%S"),
                        status,
                        f"SKU-{sku:04d}",
                        f"商品 {sku}",
                        rng.choice([1, 1, 1, 2, 2, 3]),
                        f"{9 + sku % 200}.{rng.choice(['00', '50', '90'])}",
                        shipping,
                        address,
                    ]
                )
    return customer_path, order_path


# One import, in a process of its own ------------------------------------------------------------


def worker(kind: str, path: str, batch_size: int) -> None:
    import resource

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.db import connection

    from rapport.core.actor import Actor, Source
    from rapport.imports.services import import_file

    backends = BackendCpu(connection.settings_dict["NAME"]) if connection.vendor == "postgresql" else None
    load_before = os.getloadavg()[0]
    python_before = time.process_time()
    if backends is not None:
        backends.start()
    actor = Actor(source=Source.IMPORT, label="benchmark")
    result = import_file(path, kind=kind, actor=actor, batch_size=batch_size or None)
    python_cpu = time.process_time() - python_before
    backend_cpu = backends.stop() if backends is not None else 0.0
    print(
        json.dumps(
            {
                "kind": kind,
                "rows": result.processed_rows,
                "records": result.created + result.updated + result.unchanged,  # customers or orders
                "created": result.created,
                "updated": result.updated,
                "rejected": result.rejected,
                "seconds": result.seconds + result.clock.wall.get("recomputing", 0.0),
                "load": (load_before + os.getloadavg()[0]) / 2,
                "python_cpu": python_cpu,
                "database_cpu": backend_cpu,
                "phases_wall": result.clock.wall,
                "phases_cpu": result.clock.cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "first_errors": [e.__dict__ for e in result.first_errors[:3]],
            }
        )
    )


class BackendCpu:
    """CPU seconds of every PostgreSQL backend serving the job's database while it runs: the main
    connection's, and those of the import's threads (cleaning ahead, writing), which come and go.

    A thread samples ``pg_stat_activity`` every 50 ms and keeps each backend's last reading; a
    backend first seen after the start counts from zero (a new backend starts at zero). Its own
    connection is left out. A backend living less than a sample apart is missed (none of the
    import's does: they live for the job).
    """

    def __init__(self, database: str) -> None:
        import threading

        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, conn: object, me: int, *, baseline: bool) -> None:
        rows = conn.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s", [self.database, me]
        ).fetchall()
        for (pid,) in rows:
            cpu = process_cpu(pid)
            if pid not in self.first:
                self.first[pid] = cpu if baseline else 0.0
            self.last[pid] = max(cpu, self.last.get(pid, 0.0))

    def start(self) -> None:
        import psycopg
        from django.db import connection

        url = "postgresql://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
        self._conn = psycopg.connect(url, autocommit=True)
        self._me = self._conn.info.backend_pid
        self._sample(self._conn, self._me, baseline=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample(self._conn, self._me, baseline=False)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample(self._conn, self._me, baseline=False)
        self._conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


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


def size_text(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def file_size(path: Path) -> str:
    return size_text(path.stat().st_size)


def database_size(url: str) -> str:
    """The PostgreSQL database's size on disk (tables, indexes, TOAST), for planning a larger run."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
    return size_text(size)


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
            ("bench_copy_orders", orders, 10),
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


def shape_for_schema(folder: Path, customers: Path, orders: Path) -> dict[str, tuple[Path, list[str]]]:
    """The CSV rows as rows of the real tables (ids given, values as the import stores them but
    without encryption), written once, untimed, for the COPY into the real schema."""
    now = "2026-01-01 00:00:00+00"
    out = {}
    ids: dict[str, int] = {}
    path = folder / "schema_customers.tsv"
    ident = folder / "schema_identities.tsv"
    with customers.open(encoding="utf-8") as source, path.open("w") as target, ident.open("w") as identities:
        reader = csv.reader(source)
        next(reader)
        for n, row in enumerate(reader, start=1):
            ids[row[0]] = n
            phone, email, email_index = "+86" + row[2], row[3], row[3] or "\\N"
            target.write(
                f"{n}\t{row[1]}\t{row[1]}\t\t{phone}\t{phone}\t{email}\t{email_index}\t\t\\N\t{row[5]}\tmember\t"
                f"{row[6]}+08\tweb\t{{}}\t{now}\t{now}\n"
            )
            identities.write(f"{n}\t{n}\timport\t{row[0]}\timport:{row[0]}\t{now}\n")  # index: unique text
    customer_columns = (
        "id, name, name_key, gender, phone, phone_index, email, email_index, id_number, id_number_index, city, "
        "member_status, registered_at, registration_channel, custom_fields, created_at, updated_at"
    )
    out["customers_customer"] = (path, customer_columns.split(", "))
    out["customers_identity"] = (ident, ["id", "customer_id", "channel", "external_id", "external_index", "created_at"])
    order_path, line_path = folder / "schema_orders.tsv", folder / "schema_lines.tsv"
    with orders.open(encoding="utf-8") as source, order_path.open("w") as target, line_path.open("w") as lines:
        reader = csv.reader(source)
        next(reader)
        previous, order_id, line_id = None, 0, 0
        for row in reader:
            if row[0] != previous:
                order_id += 1
                previous = row[0]
                target.write(
                    f"{order_id}\t{ids.get(row[1], 1)}\timport\t{row[0]}\t{row[3]}\tCNY\t0\t0\t{row[8]}\t0\t0\t"
                    f"{row[2]}+08\t{row[9]}\t{now}\t{now}\n"
                )
            line_id += 1  # noqa: SIM113
            total = int(row[6]) * float(row[7])
            lines.write(f"{line_id}\t{order_id}\t{row[4]}\t{row[5]}\t{row[6]}\t{row[7]}\t{total:.2f}\n")
    out["commerce_order"] = (
        order_path,
        [
            "id",
            "customer_id",
            "channel",
            "external_id",
            "status",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "total",
            "refunded_total",
            "placed_at",
            "shipping_address",
            "created_at",
            "updated_at",
        ],
    )
    out["commerce_orderline"] = (line_path, ["id", "order_id", "sku", "name", "quantity", "unit_price", "line_total"])
    return out


def copy_real_schema(url: str, env: dict[str, str], shaped: dict[str, tuple[Path, list[str]]]) -> dict[str, float]:
    """COPY the shaped rows into a freshly migrated database: the real schema's indexes and checks."""
    import psycopg

    copy_url = url.rsplit("/", 1)[0] + "/" + database_name(url) + "_copy"
    recreate_database(copy_url)
    migrate({**env, "DATABASE_URL": copy_url})
    seconds: dict[str, float] = {}
    try:
        with psycopg.connect(copy_url.replace("postgres://", "postgresql://")) as conn:
            for table, (path, columns) in shaped.items():
                started = time.monotonic()
                statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with conn.cursor() as cursor, cursor.copy(statement) as copy, path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
                conn.commit()
                seconds[table] = time.monotonic() - started
    finally:
        drop_database(copy_url)
    return seconds


# Main ----------------------------------------------------------------------------------------


def report_import(result: dict[str, object]) -> None:
    """One import's rate, CPU, memory and phases, printed as soon as it ends (a run stopped later keeps them)."""
    rate = float(result["rows"]) / float(result["seconds"])  # type: ignore[arg-type]
    print(
        f"  {result['rows']:,} rows in {result['seconds']:.1f} s: {rate:,.0f} rows/s "
        f"(created {result['created']:,}, updated {result['updated']:,}, rejected {result['rejected']:,}; "
        f"CPU per row: Python {cpu_ms(result, 'python_cpu'):.3f} ms, database "
        f"{cpu_ms(result, 'database_cpu'):.3f} ms; peak RSS {result['peak_rss_mb']:.0f} MB; "
        f"load average {result['load']:.1f})",
        flush=True,
    )
    count = max(float(result["rows"]), 1)  # type: ignore[arg-type]
    phase_cpu: dict[str, float] = result["phases_cpu"]  # type: ignore[assignment]
    phase_wall: dict[str, float] = result["phases_wall"]  # type: ignore[assignment]
    phases = ", ".join(
        f"{phase} {seconds:.1f} s ({1000 * phase_cpu[phase] / count:.3f} ms CPU a row)"
        for phase, seconds in phase_wall.items()
    )
    print(f"  phases: {phases}", flush=True)
    if result["rejected"]:
        print(f"  first errors: {result['first_errors']}", flush=True)


def print_phase_table(rows: list[tuple[str, str, dict[str, object]]]) -> None:
    """Every import's phases and total: wall time, rate and CPU per row."""
    print()
    print(
        f"{'database':<11} {'file':<10} {'phase':<12} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'CPU ms/row':>11} "
        f"{'peak RSS':>9} {'load':>5}"
    )
    for label, kind, result in rows:
        count = float(result["rows"])  # type: ignore[arg-type]
        wall: dict[str, float] = result["phases_wall"]  # type: ignore[assignment]
        cpu: dict[str, float] = result["phases_cpu"]  # type: ignore[assignment]
        for phase in ["reading", "cleaning", "merging", "writing", "indexing", "recomputing"]:
            if phase in wall:
                print(
                    f"{label:<11} {kind:<10} {phase:<12} {count:>10,.0f} {wall[phase]:>9.1f} "
                    f"{count / max(wall[phase], 1e-9):>9,.0f} {1000 * cpu[phase] / count:>11.3f}"
                )
        total_cpu = cpu_ms(result, "python_cpu") + cpu_ms(result, "database_cpu")
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        print(
            f"{label:<11} {kind:<10} {'total':<12} {count:>10,.0f} {seconds:>9.1f} {count / seconds:>9,.0f} "
            f"{total_cpu:>11.3f} {result['peak_rss_mb']:>7.0f}MB {result['load']:>5.1f}"
        )
        print_per_record(label, kind, result, count, seconds, total_cpu)


def print_per_record(
    label: str, kind: str, result: dict[str, object], count: float, seconds: float, total_cpu: float
) -> None:
    """Orders (not file rows) a second and CPU an order, with what an idle core would do."""
    records = float(result.get("records") or 0)  # type: ignore[arg-type]
    if records:
        per_record = total_cpu * count / records
        # the import's threads share one core (the GIL), its PostgreSQL backends have the other
        longer = max(cpu_ms(result, "python_cpu"), cpu_ms(result, "database_cpu")) * count / records
        print(
            f"{'':<11} {kind:<10} {'per ' + kind[:-1]:<12} {records:>10,.0f} {seconds:>9.1f} "
            f"{records / seconds:>9,.0f} {per_record:>11.3f}   (idle estimate: one core {1000 / per_record:,.0f}/s, "
            f"two cores at best {1000 / longer:,.0f}/s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--batch-size", type=int, default=0, help="file rows a chunk (default: the engine's)")
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
    print(
        f"  generated in {time.monotonic() - started:.1f} s: customers {file_size(customer_csv)}, "
        f"orders {file_size(order_csv)}",
        flush=True,
    )
    base_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAPPORT_DATA_DIR": str(folder / "var")}

    rows: list[tuple[str, str, dict[str, object]]] = []
    targets = []
    if not args.skip_postgres:
        targets.append(("postgresql", args.postgres_url))
    if not args.skip_sqlite:
        targets.append(("sqlite", f"sqlite:///{folder / 'bench.sqlite3'}"))
    copy_rates: dict[str, float] = {}
    schema_seconds: dict[str, float] = {}
    for label, url in targets:
        env = {**base_env, "DATABASE_URL": url}
        if label == "postgresql":
            recreate_database(url)
        migrate(env)
        for kind, path in [("customers", customer_csv), ("orders", order_csv)]:
            print(f"{label}: importing {kind} … (load {os.getloadavg()[0]:.1f})", flush=True)
            result = run_import(kind, path, env, args.batch_size)
            report_import(result)
            rows.append((label, kind, result))
        if label == "sqlite":
            print(f"  database size after the imports: {file_size(folder / 'bench.sqlite3')}", flush=True)
        if label == "postgresql":
            print(f"  database size after the imports: {database_size(url)}", flush=True)
            copy_rates = copy_limit(url, customer_csv, order_csv)
            if not args.keep:  # before the real-schema COPY's database: the disk holds one at a time
                drop_database(url)
            shaped = shape_for_schema(folder, customer_csv, order_csv)
            print(f"  shaped for the real schema: {size_text(sum(p.stat().st_size for p, _c in shaped.values()))}")
            schema_seconds = copy_real_schema(url, base_env, shaped)

    print_phase_table(rows)
    if copy_rates:
        print("\nLimits on PostgreSQL, same rows, same run:")
        for label, kind, result in rows:
            if label != "postgresql":
                continue
            seconds = float(result["seconds"])  # type: ignore[arg-type]
            bare = float(result["rows"]) / copy_rates[kind]  # type: ignore[arg-type]
            tables = (
                ["customers_customer", "customers_identity"]
                if kind == "customers"
                else ["commerce_order", "commerce_orderline"]
            )
            schema = sum(schema_seconds.get(t, 0.0) for t in tables)
            print(
                f"  {kind}: import {seconds:.1f} s; COPY into bare tables {bare:.1f} s ({seconds / bare:.1f}×); "
                f"COPY into the real schema {schema:.1f} s ({seconds / schema:.1f}×)"
            )
    print("\nrows/s: file rows (an order's lines are rows). CPU ms/row: the import process (per phase) plus its")
    print("PostgreSQL backend (total). load: the 1-minute load average during the import (2 cores).")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
