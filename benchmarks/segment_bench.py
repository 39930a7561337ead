"""Segment count speed: ten representative segments compiled by Rapport against hand-written SQL.

Creates a fresh PostgreSQL database (default ``rapport_segment_bench``, dropped and created by
the script), migrates it, and loads generated customers, orders (one line each) and events with
``COPY``; non-unique indexes are dropped for the load and built again afterwards, exactly as the
migrations define them, then ``ANALYZE``. For each segment of 3–8 conditions it times
``compiler.members(rule).count()`` and a hand-written SQL count for the same selection (median
of ``--runs`` warm runs each), checks that both give the same number, and prints the ratio.

    .venv/bin/python benchmarks/segment_bench.py                       # 1M / 10M / 20M
    .venv/bin/python benchmarks/segment_bench.py --customers 100000 --orders 1000000 --events 2000000

``--reuse`` skips the load and runs the segments on the database a previous run left (with
``--keep``). ``--explain`` prints EXPLAIN ANALYZE of both queries for each segment; ``--jit off``
times with PostgreSQL's JIT compilation off (see docs/benchmarks.md for why it matters here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scratch_db import recreate_database, server_url, setup_django

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_segment_bench"
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "厦门"] + [
    f"City {i}" for i in range(30)
]
STORES = 20
CATEGORIES = 20
PRODUCTS = 500
COUNTED = ("paid", "shipped", "completed", "partially_refunded", "refunded")
STATUSES = ["paid", "paid", "shipped", "completed", "completed", "completed", "cancelled", "pending", "refunded"]
EVENT_NAMES = ["Product Viewed"] * 5 + ["Page Viewed"] * 3 + ["Product Added", "Checkout Started", "Products Searched"]
CHANNELS = ["web", "web", "app", "app", "mini_program", "store", "marketplace", "social", "import"]
MEMBER_STATUSES = ["member"] * 6 + ["prospect", "prospect", "inactive", "blocked"]


# Database ------------------------------------------------------------------------------------


# Data ----------------------------------------------------------------------------------------


def _minutes(days: int) -> list[str]:
    """Every minute of the ``days`` before NOW as COPY text (formatting once is much faster)."""
    start = NOW - dt.timedelta(days=days)
    return [(start + dt.timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:00+00") for m in range(days * 1440)]


def _copy(cursor: Any, table: str, columns: list[str], rows: Iterator[str], label: str, total: int) -> None:
    started = time.perf_counter()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        buffer = io.StringIO()
        for i, line in enumerate(rows, 1):
            buffer.write(line)
            if i % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
                if i % 1_000_000 == 0:
                    print(f"  {label}: {i:,}/{total:,}", flush=True)
        copy.write(buffer.getvalue())
    print(f"  {label}: {total:,} rows in {time.perf_counter() - started:.0f} s", flush=True)


def _customers(n: int, rng: random.Random) -> Iterator[str]:
    minutes = _minutes(3 * 365)
    today = NOW.date()
    for i in range(1, n + 1):
        gender = rng.choice(("", "female", "female", "male", "male", "other"))
        if rng.random() < 0.85:
            birthday = (today - dt.timedelta(days=rng.randrange(14 * 365, 70 * 365))).isoformat()
        else:
            birthday = "\\N"
        city = CITIES[min(int(rng.expovariate(0.25)), len(CITIES) - 1)]
        store = str(rng.randrange(1, STORES + 1)) if rng.random() < 0.8 else "\\N"
        registered = minutes[rng.randrange(len(minutes))]
        yield (
            f"{i}\tCustomer {i}\t{gender}\t{birthday}\t\t\t\t{city}\t{rng.choice(MEMBER_STATUSES)}\t{registered}\t"
            f"{rng.choice(CHANNELS)}\t{store}\t{{}}\t{registered}\t{registered}\n"
        )


def _orders(n: int, customers: int, rng: random.Random) -> Iterator[str]:
    minutes = _minutes(2 * 365)
    for i in range(1, n + 1):
        customer = 1 + int(customers * rng.random() ** 1.6)  # some customers buy far more often
        total = f"{rng.randrange(900, 250_000) / 100:.2f}"
        placed = minutes[rng.randrange(len(minutes))]
        store = str(rng.randrange(1, STORES + 1))
        yield (
            f"{i}\t{customer}\t{store}\tweb\tO{i}\t{rng.choice(STATUSES)}\tCNY\t{total}\t0\t0\t{total}\t0\t"
            f"{placed}\t{placed}\t{placed}\n"
        )


def _lines(n: int, rng: random.Random) -> Iterator[str]:
    for i in range(1, n + 1):
        product = rng.randrange(1, PRODUCTS + 1)
        price = f"{9 + product % 200}.00"
        yield f"{i}\t{i}\t{product}\tSKU-{product:04d}\tProduct {product}\t1\t{price}\t{price}\n"


def _events(n: int, customers: int, rng: random.Random) -> Iterator[str]:
    minutes = _minutes(365)
    for i in range(1, n + 1):
        name = rng.choice(EVENT_NAMES)
        moment = minutes[rng.randrange(len(minutes))]
        customer = 1 + int(customers * rng.random() ** 1.3)
        if name.startswith("Product"):
            product = rng.randrange(1, PRODUCTS + 1)
            properties = json.dumps({"sku": f"SKU-{product:04d}", "price": 9 + product * 2})
        else:
            properties = "{}"
        yield (f"{i}\t{moment}\t1\tm{i}\ttrack\t{name}\t{customer}\t\t\t{properties}\t{{}}\t{{}}\t{moment}\n")


def _drop_indexes(cursor: Any, tables: list[str]) -> list[str]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
        [tables],
    )
    rows = cursor.fetchall()
    for name, _definition in rows:
        cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    # a partitioned table's index is shown "ON ONLY": built without ONLY it reaches every partition
    return [definition.replace(" ON ONLY ", " ON ") for _name, definition in rows]


def load(customers: int, orders: int, events: int, seed: int) -> None:
    from django.db import connection, transaction

    from rapport.events.partitions import ensure_month_partitions

    rng = random.Random(seed)
    ensure_month_partitions({(NOW - dt.timedelta(days=31 * k)).date() for k in range(14)})
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers during the load
        for i in range(1, STORES + 1):
            cursor.execute(
                "INSERT INTO customers_store (id, code, name, city, time_zone, currency, is_online, is_active, "
                "created_at) VALUES (%s, %s, %s, '', 'Asia/Shanghai', 'CNY', false, true, now())",
                [i, f"s-{i:02d}", f"Store {i}"],
            )
        for i in range(1, CATEGORIES + 1):
            cursor.execute(
                "INSERT INTO commerce_category (id, code, name) VALUES (%s, %s, %s)", [i, f"cat-{i:02d}", f"Cat {i}"]
            )
        for i in range(1, PRODUCTS + 1):
            cursor.execute(
                "INSERT INTO commerce_product (id, sku, name, category_id, price, currency, is_active, created_at, "
                "updated_at) VALUES (%s, %s, %s, %s, %s, 'CNY', true, now(), now())",
                [i, f"SKU-{i:04d}", f"Product {i}", 1 + i % CATEGORIES, 9 + i % 200],
            )
        cursor.execute(
            "INSERT INTO events_source (id, name, identity_channel, write_key, write_key_hash, is_enabled, "
            "created_at) VALUES (1, 'bench', 'web', 'k', 'h', true, now())"
        )
        tables = ["customers_customer", "commerce_order", "commerce_orderline", "events_event"]
        indexes = _drop_indexes(cursor, tables)
        _copy(
            cursor,
            "customers_customer",
            [
                "id",
                "name",
                "gender",
                "birthday",
                "phone",
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
            _customers(customers, rng),
            "customers",
            customers,
        )
        _copy(
            cursor,
            "commerce_order",
            [
                "id",
                "customer_id",
                "store_id",
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
                "created_at",
                "updated_at",
            ],
            _orders(orders, customers, rng),
            "orders",
            orders,
        )
        _copy(
            cursor,
            "commerce_orderline",
            ["id", "order_id", "product_id", "sku", "name", "quantity", "unit_price", "line_total"],
            _lines(orders, rng),
            "order lines",
            orders,
        )
        _copy(
            cursor,
            "events_event",
            [
                "id",
                "timestamp",
                "source_id",
                "message_id",
                "type",
                "name",
                "customer_id",
                "user_id",
                "anonymous_id",
                "properties",
                "traits",
                "context",
                "received_at",
            ],
            _events(events, customers, rng),
            "events",
            events,
        )
        index_started = time.perf_counter()
        for definition in indexes:
            cursor.execute(definition)
        print(f"  {len(indexes)} indexes built in {time.perf_counter() - index_started:.0f} s", flush=True)
        for table in ("customers_customer", "commerce_order", "commerce_orderline", "events_event"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)


# Segments ------------------------------------------------------------------------------------

COUNTED_SQL = "(" + ", ".join(f"'{s}'" for s in COUNTED) + ")"


def _ts(days: int) -> str:
    return f"'{(NOW - dt.timedelta(days=days)).isoformat()}'::timestamptz"


def _years_before(years: int) -> str:
    from rapport.segments.conditions import years_before

    return f"'{years_before(NOW.date(), years).isoformat()}'::date"


def _orders_sql(window: int | None, having: str) -> str:
    since = f" AND placed_at >= {_ts(window)}" if window else ""
    return (
        f"SELECT customer_id FROM commerce_order WHERE status IN {COUNTED_SQL}{since} "
        f"GROUP BY customer_id HAVING {having}"
    )


def _event_sql(name: str, window: int, extra: str = "", min_count: int = 1) -> str:
    base = (
        f"SELECT 1 FROM events_event e WHERE e.customer_id = c.id AND e.name = '{name}' "
        f"AND e.timestamp >= {_ts(window)}{extra}"
    )
    if min_count == 1:
        return f"EXISTS ({base})"
    return f"(SELECT count(*) FROM ({base} LIMIT {min_count}) AS x) >= {min_count}"


def _bought_sql(categories: list[int], window: int) -> str:
    return (
        "EXISTS (SELECT 1 FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id "
        f"JOIN commerce_product p ON p.id = l.product_id WHERE o.customer_id = c.id AND o.status IN {COUNTED_SQL} "
        f"AND o.placed_at >= {_ts(window)} AND p.category_id IN ({', '.join(map(str, categories))}))"
    )


def segments() -> list[tuple[str, dict[str, Any], str]]:
    """(name, rule, hand-written SQL count) — the SQL an engineer would write for the same selection."""
    stores3 = "(SELECT id FROM customers_store WHERE code IN ('s-01', 's-02', 's-03'))"
    return [
        (
            "1 women in 上海/北京 who spent 2,000+ over 2+ orders in 90 days (4)",
            {
                "all": [
                    {"type": "profile", "field": "gender", "op": "eq", "value": "female"},
                    {"type": "profile", "field": "city", "op": "in", "value": ["上海", "北京"]},
                    {"type": "orders", "metric": "sum", "op": "gte", "value": "2000", "window_days": 90},
                    {"type": "orders", "metric": "count", "op": "gte", "value": "2", "window_days": 90},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.gender = 'female' AND c.city IN ('上海', '北京') "
            f"AND c.id IN ({_orders_sql(90, 'round(sum(total) * 100) >= 200000 AND count(*) >= 2')})",
        ),
        (
            "2 lapsed members: bought before, nothing in 180 days (3)",
            {
                "all": [
                    {"type": "orders", "metric": "count", "op": "gte", "value": "1"},
                    {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 180},
                    {"type": "profile", "field": "member_status", "op": "eq", "value": "member"},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.member_status = 'member' "
            f"AND c.id IN ({_orders_sql(None, f'max(placed_at) < {_ts(180)}')})",
        ),
        (
            "3 browsed 3+ times in 30 days, never bought, web/app (3)",
            {
                "all": [
                    {"type": "event", "op": "did", "name": "Product Viewed", "min_count": 3, "window_days": 30},
                    {"type": "orders", "metric": "count", "op": "eq", "value": "0"},
                    {"type": "profile", "field": "registration_channel", "op": "in", "value": ["web", "app"]},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.registration_channel IN ('web', 'app') "
            f"AND {_event_sql('Product Viewed', 30, min_count=3)} "
            f"AND NOT EXISTS (SELECT 1 FROM commerce_order o WHERE o.customer_id = c.id AND o.status IN {COUNTED_SQL})",
        ),
        (
            "4 aged 18-24 in three stores, bought cat-03 in 180 days, no checkout in 7 days (4)",
            {
                "all": [
                    {"type": "profile", "field": "age", "op": "between", "value": [18, 24]},
                    {"type": "bought", "op": "did", "categories": ["cat-03"], "window_days": 180},
                    {"type": "store", "op": "in", "value": ["s-01", "s-02", "s-03"]},
                    {"not": {"type": "event", "op": "did", "name": "Checkout Started", "window_days": 7}},
                ]
            },
            f"SELECT count(*) FROM customers_customer c WHERE c.birthday <= {_years_before(18)} "
            f"AND c.birthday > {_years_before(25)} AND c.store_id IN {stores3} AND {_bought_sql([3], 180)} "
            f"AND NOT {_event_sql('Checkout Started', 7)}",
        ),
        (
            "5 (spent 5,000 in a year OR added to cart twice in 14 days without cat-01) and not male (5)",
            {
                "all": [
                    {
                        "any": [
                            {"type": "orders", "metric": "sum", "op": "gte", "value": "5000", "window_days": 365},
                            {
                                "all": [
                                    {
                                        "type": "event",
                                        "op": "did",
                                        "name": "Product Added",
                                        "min_count": 2,
                                        "window_days": 14,
                                    },
                                    {"type": "bought", "op": "did_not", "categories": ["cat-01"], "window_days": 90},
                                ]
                            },
                        ]
                    },
                    {"type": "profile", "field": "gender", "op": "neq", "value": "male"},
                    {"type": "profile", "field": "member_status", "op": "in", "value": ["member", "inactive"]},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.gender <> 'male' "
            "AND c.member_status IN ('member', 'inactive') AND ("
            f"c.id IN ({_orders_sql(365, 'round(sum(total) * 100) >= 500000')}) OR "
            f"({_event_sql('Product Added', 14, min_count=2)} AND NOT {_bought_sql([1], 90)}))",
        ),
        (
            "6 average order 300+ over 2-5 orders in 180 days, in 上海 (3)",
            {
                "all": [
                    {"type": "orders", "metric": "average", "op": "gte", "value": "300", "window_days": 180},
                    {"type": "orders", "metric": "count", "op": "between", "value": ["2", "5"], "window_days": 180},
                    {"type": "profile", "field": "city", "op": "eq", "value": "上海"},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.city = '上海' AND c.id IN ("
            + _orders_sql(180, "round(sum(total) * 100) >= 30000 * count(*) AND count(*) BETWEEN 2 AND 5")
            + ")",
        ),
        (
            "7 registered in 30 days on the mini-program, active, no order (4)",
            {
                "all": [
                    {"type": "profile", "field": "registered_at", "op": "within_last_days", "value": 30},
                    {"type": "event", "op": "did", "name": "Page Viewed", "window_days": 30},
                    {"type": "orders", "metric": "count", "op": "eq", "value": "0"},
                    {"type": "profile", "field": "registration_channel", "op": "eq", "value": "mini_program"},
                ]
            },
            f"SELECT count(*) FROM customers_customer c WHERE c.registered_at >= {_ts(30)} "
            f"AND c.registration_channel = 'mini_program' AND {_event_sql('Page Viewed', 30)} "
            f"AND NOT EXISTS (SELECT 1 FROM commerce_order o WHERE o.customer_id = c.id AND o.status IN {COUNTED_SQL})",
        ),
        (
            "8 viewed 500+ priced products twice in 60 days, no cat-05 in 60 days, 30+, has a store (4)",
            {
                "all": [
                    {
                        "type": "event",
                        "op": "did",
                        "name": "Product Viewed",
                        "min_count": 2,
                        "window_days": 60,
                        "where": [{"property": "price", "op": "gte", "value": 500}],
                    },
                    {"type": "bought", "op": "did_not", "categories": ["cat-05"], "window_days": 60},
                    {"type": "profile", "field": "age", "op": "gte", "value": 30},
                    {"type": "store", "op": "is_set"},
                ]
            },
            f"SELECT count(*) FROM customers_customer c WHERE c.birthday <= {_years_before(30)} "
            "AND c.store_id IS NOT NULL AND "
            + _event_sql(
                "Product Viewed",
                60,
                " AND jsonb_typeof(e.properties -> 'price') = 'number' AND (e.properties ->> 'price')::float >= 500",
                min_count=2,
            )
            + f" AND NOT {_bought_sql([5], 60)}",
        ),
        (
            "9 women 25-44 in five cities, members, 3+ orders and 1,000+ in a year, viewing, not checking out (8)",
            {
                "all": [
                    {"type": "profile", "field": "gender", "op": "eq", "value": "female"},
                    {"type": "profile", "field": "age", "op": "between", "value": [25, 44]},
                    {"type": "profile", "field": "city", "op": "in", "value": ["上海", "北京", "广州", "深圳", "杭州"]},
                    {"type": "profile", "field": "member_status", "op": "eq", "value": "member"},
                    {"type": "orders", "metric": "count", "op": "gte", "value": "3", "window_days": 365},
                    {"type": "orders", "metric": "sum", "op": "gte", "value": "1000", "window_days": 365},
                    {"type": "event", "op": "did", "name": "Product Viewed", "window_days": 30},
                    {"type": "event", "op": "did_not", "name": "Checkout Started", "window_days": 30},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.gender = 'female' "
            f"AND c.birthday <= {_years_before(25)} AND c.birthday > {_years_before(45)} "
            "AND c.city IN ('上海', '北京', '广州', '深圳', '杭州') AND c.member_status = 'member' "
            f"AND c.id IN ({_orders_sql(365, 'count(*) >= 3 AND round(sum(total) * 100) >= 100000')}) "
            f"AND {_event_sql('Product Viewed', 30)} AND NOT {_event_sql('Checkout Started', 30)}",
        ),
        (
            "10 churn risk: 2+ orders, last one in spring 2026, quiet 60 days, older accounts, women or 上海 (6)",
            {
                "all": [
                    {"type": "orders", "metric": "count", "op": "gte", "value": "2"},
                    {
                        "type": "orders",
                        "metric": "last_order_at",
                        "op": "between",
                        "value": ["2026-03-01", "2026-06-30"],
                    },
                    {"type": "event", "op": "did_not", "name": "Page Viewed", "window_days": 60},
                    {"type": "profile", "field": "registered_at", "op": "before", "value": "2025-01-01"},
                    {
                        "any": [
                            {"type": "profile", "field": "gender", "op": "eq", "value": "female"},
                            {"type": "profile", "field": "city", "op": "eq", "value": "上海"},
                        ]
                    },
                    {"type": "store", "op": "in", "value": ["s-01", "s-02", "s-03"]},
                ]
            },
            "SELECT count(*) FROM customers_customer c WHERE c.registered_at < '2025-01-01'::timestamptz "
            f"AND (c.gender = 'female' OR c.city = '上海') AND c.store_id IN {stores3} AND c.id IN ("
            + _orders_sql(
                None,
                "count(*) >= 2 AND max(placed_at) >= '2026-03-01'::timestamptz "
                "AND max(placed_at) < '2026-07-01'::timestamptz",
            )
            + f") AND NOT {_event_sql('Page Viewed', 60)}",
        ),
    ]


# Timing --------------------------------------------------------------------------------------


def _median_seconds(run: Callable[[], int], runs: int) -> tuple[float, int]:
    result = run()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_segments(runs: int, explain: bool, only: set[int]) -> list[dict[str, Any]]:
    from django.db import connection

    from rapport.segments.compiler import members

    results = []
    for number, (name, rule, sql) in enumerate(segments(), 1):
        if only and number not in only:
            continue

        def compiled(rule: dict[str, Any] = rule) -> int:
            return members(rule, now=NOW).count()

        def hand(sql: str = sql) -> int:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return int(cursor.fetchone()[0])

        compiled_s, compiled_n = _median_seconds(compiled, runs)
        hand_s, hand_n = _median_seconds(hand, runs)
        ratio = compiled_s / hand_s if hand_s else float("inf")
        flag = "" if compiled_n == hand_n else f"  COUNTS DIFFER: hand-written {hand_n:,}"
        print(
            f"{name}\n    members {compiled_n:>9,}   compiled {compiled_s * 1000:8.0f} ms   "
            f"hand-written {hand_s * 1000:8.0f} ms   ratio {ratio:5.2f}{flag}",
            flush=True,
        )
        if explain:
            compiled_sql, params = members(rule, now=NOW).order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                for label, text, args in (
                    ("compiled", f"SELECT count(*) FROM ({compiled_sql}) AS m", params),
                    ("hand-written", sql, ()),
                ):
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {text}", args)
                    print(f"  -- {label}\n" + "\n".join("    " + row[0] for row in cursor.fetchall()))
        results.append({"name": name, "count": compiled_n, "compiled_ms": compiled_s * 1000, "hand_ms": hand_s * 1000})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="skip the load; use the existing database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE for each segment")
    parser.add_argument("--only", default="", help="comma-separated segment numbers to run")
    parser.add_argument(
        "--jit", choices=["on", "off"], help="PostgreSQL JIT for the timed queries (default: as settings.py sets it)"
    )
    args = parser.parse_args()

    print(
        f"segment_bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()})",
        flush=True,
    )
    if not args.reuse:
        recreate_database(args.postgres_url)
    setup_django(args.postgres_url)
    from django.core.management import call_command
    from django.db import connection

    if not args.reuse:
        call_command("migrate", verbosity=0)
        print(
            f"loading {args.customers:,} customers, {args.orders:,} orders (+ as many lines), {args.events:,} events",
            flush=True,
        )
        load(args.customers, args.orders, args.events, args.seed)
    with connection.cursor() as cursor:
        if args.jit:
            cursor.execute(f"SET jit = {args.jit}")
        cursor.execute("SELECT current_setting('server_version'), current_setting('jit')")
        version, jit = cursor.fetchone()
        print(f"PostgreSQL {version}, jit {jit}", flush=True)
    only = {int(n) for n in args.only.split(",") if n.strip()}
    results = run_segments(args.runs, args.explain, only)
    slowest = max((r["compiled_ms"] for r in results), default=0.0)
    worst = max((r["compiled_ms"] / r["hand_ms"] for r in results if r["hand_ms"]), default=0.0)
    print(f"slowest compiled count {slowest:.0f} ms; worst ratio {worst:.2f} (goal: < 1000 ms and ≤ 1.2)")
    if not args.keep:
        connection.close()
        import psycopg

        name = urlsplit(args.postgres_url).path.lstrip("/")
        with psycopg.connect(server_url(args.postgres_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
