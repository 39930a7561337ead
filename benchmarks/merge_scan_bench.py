"""Merge suggestions at scale: the daily namesake scan and the probe each identify makes.

Creates a fresh PostgreSQL database (default ``rapport_merge_bench``, dropped and created by the
script), migrates it, and loads with ``COPY`` N generated customers whose names are drawn the
way Chinese names repeat (a few surnames carry most people, given names of one or two characters
from a list), each in a city, 70 % with an address (a number on one of 200 streets in one of the
city's ten districts; first line encrypted and place index computed as Rapport does). D of the
customers are entered a second time, as a second shop would: the name and the first line
written another way (spacing, case, punctuation), at the same place.

It then times ``scan_weak_matches()`` twice (the first run queues the suggestions, the second
finds nothing new), counts how many of the D true duplicates were found and how many suggestions
pair two different people, and times ``suggest_weak_matches()`` (what an identify with a name
runs) for 1,000 customers: p50 and p95.

    .venv/bin/python benchmarks/merge_scan_bench.py                  # 1,000,000 customers
    .venv/bin/python benchmarks/merge_scan_bench.py --customers 100000 --duplicates 500
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import random
import statistics
import time
from typing import Any

from scratch_db import drop_database, recreate_database, setup_django

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_merge_bench"
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁龙林欣佳")
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "厦门"] + [
    f"City {i}" for i in range(30)
]
STREETS = [f"{name} Rd" for name in ("Renmin", "Jiefang", "Zhongshan", "Nanjing", "Huaihai")] + [
    f"Street {i}" for i in range(195)
]


def _zipf_index(rng: random.Random, size: int, skew: float = 1.1) -> int:
    """An index in ``range(size)`` where the first ones are much more frequent (as surnames are)."""
    return min(int(rng.paretovariate(skew)) - 1, size - 1)


def _person(rng: random.Random) -> tuple[str, str, tuple[str, str, str] | None]:
    surname = SURNAMES[_zipf_index(rng, len(SURNAMES))]
    given = "".join(GIVEN[_zipf_index(rng, len(GIVEN), 0.8)] for _ in range(rng.choice((1, 2, 2))))
    city = CITIES[min(int(rng.expovariate(0.25)), len(CITIES) - 1)]
    place = None
    if rng.random() < 0.7:
        place = (city, f"District {rng.randrange(10)}", f"{rng.randrange(1, 500)} {rng.choice(STREETS)}")
    return surname + given, city, place


def _respelled(name: str, line1: str) -> tuple[str, str]:
    """The same person as a second shop typed them in."""
    return " ".join(name), line1.upper().replace(" ", "  ") + "."


def generate(customers: int, duplicates: int, seed: int) -> tuple[list[tuple[Any, ...]], set[tuple[int, int]]]:
    rng = random.Random(seed)
    people = [_person(rng) for _ in range(customers - duplicates)]
    rows: list[tuple[Any, ...]] = [(name, city, place) for name, city, place in people]
    with_place = [i for i, (_name, _city, place) in enumerate(people) if place]
    true_pairs = set()
    for original in rng.sample(with_place, duplicates):
        name, city, place = people[original]
        assert place is not None
        other_name, other_line = _respelled(name, place[2])
        rows.append((other_name, city, (place[0], place[1], other_line)))
        true_pairs.add((original + 1, len(rows)))  # ids are positions + 1
    return rows, true_pairs


def load(rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction

    from rapport.core import pii
    from rapport.customers.models import name_key

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    customers = io.StringIO()
    addresses = io.StringIO()
    for number, (name, city, place) in enumerate(rows, 1):
        customers.write(f"{number}\t{name}\t{name_key(name)}\t\t\t\t\t{city}\tmember\t{now}\tweb\t{{}}\t{now}\t{now}\n")
        if place:
            place_city, district, line1 = place
            index = pii.place_index(place_city, district, line1)
            addresses.write(
                f"{number}\t\t\t\tCN\t\t{place_city}\t{district}\t{pii.encrypt(line1)}\t\t\tt\t{now}\t{index}\n"
            )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy(
            "COPY customers_customer (id, name, name_key, gender, phone, email, id_number, city, member_status, "
            "registered_at, registration_channel, custom_fields, created_at, updated_at) FROM STDIN"
        ) as copy:
            copy.write(customers.getvalue())
        with cursor.copy(
            "COPY customers_address (customer_id, label, recipient, phone, country, province, city, district, line1, "
            "line2, postal_code, is_default, created_at, place_index) FROM STDIN"
        ) as copy:
            copy.write(addresses.getvalue())
        cursor.execute("SELECT setval('customers_customer_id_seq', (SELECT max(id) FROM customers_customer))")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("ANALYZE customers_address")
    print(f"loaded {len(rows):,} customers in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--duplicates", type=int, default=2_000, help="customers entered twice")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    print(
        f"merge_scan_bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()})"
    )
    recreate_database(args.postgres_url)
    setup_django(args.postgres_url)
    from django.core.management import call_command
    from django.db import connection

    from rapport.customers.merge import scan_weak_matches, suggest_weak_matches
    from rapport.customers.models import Customer, MergeSuggestion

    call_command("migrate", verbosity=0)
    rows, true_pairs = generate(args.customers, args.duplicates, args.seed)
    load(rows)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}")
    try:
        for run in ("first", "second"):
            started = time.perf_counter()
            created = scan_weak_matches()
            print(f"scan ({run}): {created:,} new suggestions in {time.perf_counter() - started:.2f} s", flush=True)
        found = set(MergeSuggestion.objects.values_list("first_id", "second_id"))
        print(
            f"true duplicates found: {len(found & true_pairs):,} of {len(true_pairs):,}; "
            f"suggestions pairing two different people: {len(found - true_pairs):,}"
        )
        rng = random.Random(args.seed)
        sample = Customer.objects.filter(pk__in=rng.sample(range(1, len(rows) + 1), 1000))
        times = []
        for customer in sample:
            started = time.perf_counter()
            suggest_weak_matches(customer)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(
            f"identify probe (1,000 customers): p50 {statistics.median(times):.2f} ms, "
            f"p95 {times[int(len(times) * 0.95)]:.2f} ms"
        )
    finally:
        connection.close()
        if not args.keep:
            drop_database(args.postgres_url)


if __name__ == "__main__":
    main()
