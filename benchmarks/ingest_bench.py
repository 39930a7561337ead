"""Event ingestion speed: N events through ``/v1/batch`` from K concurrent clients into PostgreSQL.

Creates a fresh PostgreSQL database, migrates it, creates a source and C customers known by a
shop user id, and starts S Rapport server processes (waitress, T threads each) on loopback, as
a deployment scales on one machine. K client processes then send N generated events of
realistic shapes (Segment analytics.js-like track and page calls: identified users, anonymous
visitors, both) as ``/v1/batch`` bodies (under 500 KB, optionally gzip) over keep-alive
connections, spread across the servers. The servers answer once a batch is durable: its track
and page calls stored in ``events_event`` by the request itself, anything else (identify calls)
staged for their resolver threads. Printed: the accept rate (events/s until the last 200), the
sustained rate (events/s until the staging table is empty too, i.e. every event in
``events_event``), p50/p95/p99 batch latency, the CPU time of
the servers, the PostgreSQL backends and the clients, and the row counts (``events_event`` must
hold N rows, N distinct message ids). Then, in the same run, the same rows are exported, the
table truncated, and the rows loaded back with PostgreSQL ``COPY``: the limit, and the ratios of
both rates to it.

    .venv/bin/python benchmarks/ingest_bench.py --events 200000 --clients 8 --servers 2

``--profile wall`` samples the server processes' request threads with py-spy (``--profile gil``
only the thread holding the GIL, i.e. CPU) and prints where their time goes; ``--py-spy`` names
the binary, which is not a dependency of the project (``pip install --target /tmp/pyspy py-spy``).
``--src`` runs another tree's ``rapport`` package, to measure a change against the current one.
PostgreSQL: ``--postgres-url`` (default postgres://postgres@127.0.0.1:5432/rapport_ingest_bench);
the database is dropped and created by the script, and dropped again at the end (``--keep``
keeps it).
"""

from __future__ import annotations

import argparse
import base64
import collections
import gzip
import http.client
import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from scratch_db import database_name, drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_ingest_bench"
MAX_BODY = 500 * 1024
HOST = "127.0.0.1"
CHANNEL = "web"
PRODUCTS = [(f"SKU-{i:04d}", f"商品 {i}", round(9 + (i * 37) % 400 + 0.9, 2)) for i in range(500)]
CATEGORIES = ["茶叶", "茶具", "礼盒", "Snacks", "Coffee"]
PAGES = ["/", "/sale", "/category/tea", "/category/cups", "/cart", "/account", "/search"]
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
]
TRACK_EVENTS = ["Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Products Searched"]


# Events --------------------------------------------------------------------------------------


def make_event(
    rng: random.Random,
    *,
    customers: int,
    visitors: int,
    device_group: str,
    now: float,
    identify_share: float = 0.0,
    personal_share: float = 0.0,
) -> dict[str, Any]:
    """One analytics.js-like call: 50 % identified users, 30 % anonymous visitors, 20 % both.

    With ``identify_share``, that share of the calls are identify calls of a known customer on
    a device (userId, anonymousId and traits), as when a visitor signs in. With ``personal_share``,
    that share of the track calls carry an email and a phone in their properties (a form sent),
    which are stored sealed.
    """
    if identify_share and rng.random() < identify_share:
        n = rng.randrange(customers)
        return {
            "type": "identify",
            "messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "userId": f"bench-{n}",
            "anonymousId": f"anon-{device_group}{rng.randrange(visitors):07d}",
            "traits": {"name": f"Bench {n}"},
            "context": {"library": {"name": "analytics.js", "version": "4.4.1"}, "locale": "zh-CN"},
        }
    roll = rng.random()
    user_id = f"bench-{rng.randrange(customers)}" if roll < 0.7 else None
    anonymous_id = f"anon-{device_group}{rng.randrange(visitors):07d}" if roll >= 0.5 else None
    happened = now - rng.uniform(0, 3600)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(happened)) + f".{int(happened % 1 * 1000):03d}Z"
    path = rng.choice(PAGES)
    context = {
        "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": rng.choice(AGENTS),
        "locale": "zh-CN",
        "timezone": "Asia/Shanghai",
        "library": {"name": "analytics.js", "version": "4.4.1"},
        "page": {"path": path, "url": f"https://shop.example.cn{path}", "referrer": "", "title": "Tea shop"},
    }
    event: dict[str, Any] = {"messageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "timestamp": stamp}
    if user_id:
        event["userId"] = user_id
    if anonymous_id:
        event["anonymousId"] = anonymous_id
    if rng.random() < 0.3:
        event.update(type="page", name=path.strip("/") or "home", properties={"path": path, "title": "Tea shop"})
    else:
        sku, name, price = rng.choice(PRODUCTS)
        name_of_event = rng.choice(TRACK_EVENTS)
        properties: dict[str, Any] = {
            "product_id": sku,
            "sku": sku,
            "name": name,
            "price": price,
            "currency": "CNY",
            "category": rng.choice(CATEGORIES),
        }
        if name_of_event == "Product Added":
            properties["quantity"] = rng.choice([1, 1, 2])
        elif name_of_event == "Products Searched":
            properties = {"query": rng.choice(["龙井", "tea cup", "gift"])}
        if personal_share and rng.random() < personal_share:
            n = rng.randrange(customers)
            properties.update(email=f"bench.{n}@example.com", phone=f"139{n:08d}")
        event.update(type="track", event=name_of_event, properties=properties)
    event["context"] = context
    return event


def make_bodies(
    seed: int,
    count: int,
    batch_size: int,
    customers: int,
    visitors: int,
    device_group: str,
    compress: bool,
    identify_share: float = 0.0,
    personal_share: float = 0.0,
) -> list[bytes]:
    """One client's share as ready-to-send /v1/batch bodies (each under 500 KB)."""
    rng = random.Random(seed)
    now = time.time()
    bodies = []
    sent_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    for start in range(0, count, batch_size):
        batch = [
            make_event(
                rng,
                customers=customers,
                visitors=visitors,
                device_group=device_group,
                now=now,
                identify_share=identify_share,
                personal_share=personal_share,
            )
            for _ in range(min(batch_size, count - start))
        ]
        raw = json.dumps({"batch": batch, "sentAt": sent_at}, ensure_ascii=False).encode()
        if len(raw) > MAX_BODY:
            raise SystemExit(f"a batch of {batch_size} events is {len(raw):,} bytes: lower --batch-size")
        bodies.append(gzip.compress(raw, 1) if compress else raw)
    return bodies


# Clients -------------------------------------------------------------------------------------


def client(
    index: int, port: int, key: str, share: int, args: argparse.Namespace, ready: Any, go: Any, results: Any
) -> None:
    # A device's events reach Rapport through one sender, as with analytics.js or a shop backend
    # that keeps a session on one worker; --shared-visitors mixes every device into every client.
    group, visitors = ("", args.visitors) if args.shared_visitors else (f"{index}-", args.visitors // args.clients)
    bodies = make_bodies(
        1000 + index,
        share,
        args.batch_size,
        args.customers,
        max(visitors, 1),
        group,
        args.gzip,
        args.identify_share,
        args.personal_share,
    )
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "User-Agent": "rapport-ingest-bench",
    }
    if args.gzip:
        headers["Content-Encoding"] = "gzip"
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    latencies: list[float] = []
    failures: collections.Counter[str] = collections.Counter()
    accepted = 0
    ready.release()
    go.wait()
    cpu = time.process_time()
    started = time.monotonic()
    for body in bodies:
        for _attempt in range(5):
            sent = time.monotonic()
            try:
                connection.request("POST", "/v1/batch", body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                failures[type(exc).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=120)
                time.sleep(0.2)
                continue
            if response.status == 200:
                latencies.append(time.monotonic() - sent)
                accepted += json.loads(payload)["accepted"]
                break
            failures[f"HTTP {response.status}"] += 1  # retried, as the client libraries do
            time.sleep(0.2)
    results.put(
        {
            "started": started,
            "finished": time.monotonic(),
            "latencies": latencies,
            "accepted": accepted,
            "failures": dict(failures),
            "cpu": time.process_time() - cpu,
        }
    )


# Server processes ------------------------------------------------------------------------------


def serve(port: int, threads: int) -> None:
    """One Rapport server process: the WSGI app under waitress, until SIGTERM."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from waitress import create_server

    from rapport.wsgi import application

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = create_server(application, host=HOST, port=port, threads=threads, connection_limit=1000)
    server.run()


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no server on port {port} after {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Setup in a Django process ---------------------------------------------------------------------


def setup_worker(customers: int) -> None:
    """Create the source and the customers (each known to the channel by a shop user id)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import datetime as dt

    import django

    django.setup()
    from django.utils import timezone

    from rapport.core.actor import Actor
    from rapport.customers.models import Customer, Identity, name_key
    from rapport.events.services import create_source, prepare_partitions

    source = create_source(data={"name": "Bench shop", "identity_channel": CHANNEL}, actor=Actor.system("bench"))
    now = timezone.now()
    made = Customer.objects.bulk_create(
        [Customer(name=f"Bench {i}", name_key=name_key(f"Bench {i}"), registered_at=now) for i in range(customers)],
        batch_size=2000,
    )
    Identity.objects.bulk_create(
        [Identity(customer=c, channel=CHANNEL, external_id=f"bench-{i}") for i, c in enumerate(made)], batch_size=2000
    )
    prepare_partitions(now - dt.timedelta(hours=2), months_ahead=1)  # events go back an hour
    print(json.dumps({"write_key": source.write_key}))


def django_env(url: str, folder: Path, src: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(src),
        "RAPPORT_DATA_DIR": str(folder / "var"),
        "DATABASE_URL": url,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    }


# PostgreSQL ----------------------------------------------------------------------------------


def pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


class BackendCpu:
    """CPU time of the database's backends, sampled while they live.

    The servers' connections are recycled (CONN_MAX_AGE), and an exited backend's CPU time can
    no longer be read: a thread samples every backend a few times a second and keeps the last
    figure of each.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.last: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self) -> None:
        for pid in backend_pids(self.url):
            cpu = cpu_seconds(pid)
            if cpu:
                self.last[pid] = cpu
                self.start.setdefault(pid, cpu if not self._thread.is_alive() else 0.0)

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self._read()

    def __enter__(self) -> BackendCpu:
        self._read()  # backends already open: count from their current figure
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    @property
    def seconds(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())


def backend_pids(url: str) -> list[int]:
    import psycopg

    name = database_name(url)
    with psycopg.connect(pg(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    return [row[0] for row in rows]


def table_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(pg(url), autocommit=True) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("events_event", "events_eventreceipt", "events_anonymousvisitor", "events_stagedmessage")
        } | {
            "distinct_messages": conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT source_id, message_id FROM events_event) AS m"
            ).fetchone()[0]  # type: ignore[index]
        }


def wait_until_resolved(url: str, timeout: float) -> float:
    """Poll until the staging table is empty (a claimed chunk leaves it at its commit); return when."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(pg(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            # by the primary key index: a scan of the heap would wade through the deleted rows
            left = conn.execute("SELECT id FROM events_stagedmessage ORDER BY id LIMIT 1").fetchone()
            if left is None:
                return time.monotonic()
            time.sleep(0.05)
    raise SystemExit(f"staged events still unresolved after {timeout:.0f} s")


def copy_limit(url: str) -> tuple[int, float, float]:
    """Export the stored events, truncate, COPY them back in.

    Returns the rows, the seconds of the COPY and its commit, and the CPU seconds the
    PostgreSQL backend spent on them.
    """
    import psycopg

    with psycopg.connect(pg(url)) as conn:
        buffer = io.BytesIO()
        with conn.cursor() as cursor, cursor.copy("COPY (SELECT * FROM events_event) TO STDOUT") as copy:
            for chunk in copy:
                buffer.write(chunk)
        conn.execute("TRUNCATE events_event")
        conn.commit()
        data = buffer.getvalue()
        backend = conn.info.backend_pid
        cpu = cpu_seconds(backend)
        started = time.monotonic()
        with conn.cursor() as cursor, cursor.copy("COPY events_event FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        conn.commit()
        seconds = time.monotonic() - started
        cpu = cpu_seconds(backend) - cpu
        rows = conn.execute("SELECT count(*) FROM events_event").fetchone()[0]  # type: ignore[index]
    return rows, seconds, cpu


# Profile ---------------------------------------------------------------------------------------


def _name(frame: str) -> str:
    return frame.split(" (")[0]


PROFILED = {
    "the tracking view": "_handle (rapport/events/tracking.py",
    "the resolver": "resolve_chunk (rapport/events/resolver.py",
}


def summarize_profile(path: Path, where: str, top: int = 20) -> list[str]:
    """Where the request threads (or the resolver) spend their time, from py-spy's raw stacks.

    Every sample inside ``where`` (a key of ``PROFILED``) is charged to its deepest Rapport frames and the
    first library call below them (so "IdentityResolver.apply > Atomic.__enter__" is the
    savepoint opened there, waiting for PostgreSQL included: this is wall time, not CPU).
    """
    total = 0
    places: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        if not any(PROFILED[where] in f for f in frames):
            continue
        count = int(count_text)
        total += count
        ours = [i for i, frame in enumerate(frames) if "rapport/" in frame]
        below = _name(frames[ours[-1] + 1]) if ours[-1] + 1 < len(frames) else "(own code)"
        places[" > ".join(_name(frames[i]) for i in ours[-2:]) + " > " + below] += count
        leaves[frames[-1]] += count
    if not total:
        return [f"(no samples in {where})"]
    lines = [f"{total:,} samples in {where}", ""]
    for place, count in places.most_common(top):
        lines.append(f"  {100 * count / total:5.1f} %  {place[:140]}")
    lines += ["", "innermost functions"]
    for frame, count in leaves.most_common(8):
        lines.append(f"  {100 * count / total:5.1f} %  {frame[:140]}")
    return lines


# Main ----------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--batch-size", type=int, default=250, help="events per /v1/batch request")
    parser.add_argument("--servers", type=int, default=2, help="Rapport server processes")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per server process")
    parser.add_argument("--customers", type=int, default=20_000, help="existing customers (user ids)")
    parser.add_argument("--visitors", type=int, default=0, help="anonymous ids in use (default events/10)")
    parser.add_argument("--gzip", action="store_true", help="gzip the request bodies")
    parser.add_argument(
        "--identify-share", type=float, default=0.0, help="share of identify calls (sign-ins), e.g. 0.02"
    )
    parser.add_argument(
        "--personal-share", type=float, default=0.0, help="share of track calls with an email and a phone, e.g. 0.2"
    )
    parser.add_argument(
        "--shared-visitors", action="store_true", help="every client sends events of every anonymous id"
    )
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--profile",
        choices=["wall", "gil"],
        help="sample the servers with py-spy: every request thread (wall) or only the one holding the GIL (CPU)",
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp folder")
    parser.add_argument("--src", default=str(ROOT / "src"), help="the rapport package to run (compare two trees)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.threads)
        return
    if args.setup:
        setup_worker(args.customers)
        return
    args.visitors = args.visitors or max(args.events // 10, 1)

    folder = Path(tempfile.mkdtemp(prefix="rapport-ingest-bench-"))
    env = django_env(args.postgres_url, folder, Path(args.src))
    print(f"database {database_name(args.postgres_url)}: creating, migrating, {args.customers:,} customers", flush=True)
    recreate_database(args.postgres_url)
    subprocess.run([sys.executable, "-m", "rapport", "migrate", "-v", "0"], env=env, check=True)
    done = subprocess.run(
        [sys.executable, __file__, "--setup", "--customers", str(args.customers)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(done.stdout.strip().splitlines()[-1])["write_key"]

    ports = [free_port() for _ in range(args.servers)]
    servers = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--threads", str(args.threads)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port)
        run(args, key, ports, servers, folder)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep:
            drop_database(args.postgres_url)
            shutil.rmtree(folder, ignore_errors=True)


def warm_up(ports: list[int], key: str) -> None:
    """Warm each server up (imports, first connection) with a tiny batch of its own."""
    for port in ports:
        warm = http.client.HTTPConnection(HOST, port, timeout=60)
        warm.request(
            "POST",
            "/v1/batch",
            json.dumps({"batch": []}),
            {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        )
        warm.getresponse().read()
        warm.close()


def start_profilers(args: argparse.Namespace, servers: list[Any], folder: Path) -> list[tuple[Path, Any]]:
    """py-spy on every server process, each writing its raw profile into the folder."""
    spies: list[tuple[Path, Any]] = []
    for server in servers:
        out = folder / f"profile-{server.pid}.txt"
        spies.append(
            (
                out,
                subprocess.Popen(
                    [args.py_spy, "record", "--pid", str(server.pid), "--format", "raw", "--output", str(out)]
                    + (["--gil"] if args.profile == "gil" else []),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    time.sleep(1.0)
    return spies


def run(args: argparse.Namespace, key: str, ports: list[int], servers: list[Any], folder: Path) -> None:
    shares = [args.events // args.clients + (i < args.events % args.clients) for i in range(args.clients)]
    print(
        f"generating {args.events:,} events ({args.batch_size} a batch{', gzip' if args.gzip else ''}"
        f"{f', {100 * args.identify_share:g} % identify' if args.identify_share else ''}"
        f"{f', {100 * args.personal_share:g} % with email and phone' if args.personal_share else ''}) in "
        f"{args.clients} client processes; {args.servers} server processes × {args.threads} threads",
        flush=True,
    )
    ready = multiprocessing.Semaphore(0)
    go = multiprocessing.Event()
    results: Any = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(
            target=client, args=(i, ports[i % len(ports)], key, shares[i], args, ready, go, results), daemon=True
        )
        for i in range(args.clients)
    ]
    for process in clients:
        process.start()
    for _ in clients:
        ready.acquire()
    warm_up(ports, key)

    backends = BackendCpu(args.postgres_url).__enter__()
    server_cpu = sum(cpu_seconds(s.pid) for s in servers)
    spies = start_profilers(args, servers, folder) if args.profile else []
    go.set()
    outcome = [results.get() for _ in clients]
    accept_server_cpu = sum(cpu_seconds(s.pid) for s in servers) - server_cpu
    accepted_at = time.monotonic()
    staged_at_last_200 = table_counts(args.postgres_url)["events_stagedmessage"]
    resolved_at = wait_until_resolved(args.postgres_url, timeout=max(600.0, args.events / 100))
    for process in clients:
        process.join()
    for _out, spy in spies:
        spy.send_signal(signal.SIGINT)
    for _out, spy in spies:
        spy.wait(timeout=60)
    backends.__exit__()
    server_cpu = sum(cpu_seconds(s.pid) for s in servers) - server_cpu
    pg_cpu = backends.seconds

    began = min(r["started"] for r in outcome)
    wall = max(r["finished"] for r in outcome) - began
    sustained_wall = resolved_at - began
    latencies = [latency for r in outcome for latency in r["latencies"]]
    accepted = sum(r["accepted"] for r in outcome)
    failures: collections.Counter[str] = collections.Counter()
    for r in outcome:
        failures.update(r["failures"])
    counts = table_counts(args.postgres_url)
    rate = accepted / wall if wall else 0.0
    stored = counts["events_event"]
    sustained = stored / sustained_wall if sustained_wall else 0.0
    print()
    print(f"accept:    {accepted:,} events accepted (last 200) in {wall:.1f} s = {rate:,.0f} events/s")
    print(
        f"sustained: {stored:,} events resolved into events_event in {sustained_wall:.1f} s = {sustained:,.0f} events/s"
    )
    print(
        f"  batch latency ({len(latencies):,} batches): p50 {1000 * percentile(latencies, 0.5):.0f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):.0f} ms, p99 {1000 * percentile(latencies, 0.99):.0f} ms, "
        f"mean {1000 * statistics.fmean(latencies) if latencies else 0:.0f} ms"
    )
    cores = os.cpu_count() or 1
    per_event = (server_cpu + pg_cpu) / max(stored, 1)
    print(
        f"  CPU: servers {server_cpu:.1f} s ({accept_server_cpu:.1f} s of it until the last 200), PostgreSQL "
        f"backends {pg_cpu:.1f} s, clients {sum(r['cpu'] for r in outcome):.1f} s "
        f"(sustained wall {sustained_wall:.1f} s × {cores} cores = {cores * sustained_wall:.1f} s)"
    )
    print(
        f"  CPU a event, accept and resolve: servers {1e6 * server_cpu / max(stored, 1):.0f} µs + PostgreSQL "
        f"{1e6 * pg_cpu / max(stored, 1):.0f} µs: {cores} idle cores would take "
        f"{cores / per_event if per_event else 0:,.0f} events/s"
    )
    print(
        f"  rows: events_event {stored:,} ({counts['distinct_messages']:,} distinct message ids), "
        f"receipts {counts['events_eventreceipt']:,}, anonymous visitors {counts['events_anonymousvisitor']:,}, "
        f"still staged {counts['events_stagedmessage']:,}"
    )
    if staged_at_last_200:
        print(
            f"  after the last 200: {staged_at_last_200:,} events still staged, resolved in "
            f"{resolved_at - accepted_at:.1f} s = {staged_at_last_200 / max(resolved_at - accepted_at, 1e-9):,.0f} "
            "events/s (the resolver alone)"
        )
    if failures:
        print(f"  failed attempts: {dict(failures)}")
    if stored != args.events or counts["distinct_messages"] != args.events:
        print(f"  MISMATCH: expected {args.events:,} rows in events_event, each message once")

    rows, seconds, copy_cpu = copy_limit(args.postgres_url)
    copy_rate = rows / seconds if seconds else 0.0
    print(
        f"COPY:      {rows:,} rows of events_event in {seconds:.1f} s = {copy_rate:,.0f} rows/s "
        f"(PostgreSQL CPU {copy_cpu:.1f} s = {1e6 * copy_cpu / max(rows, 1):.0f} µs a row)"
    )
    print(
        f"ratio:     accept is {100 * rate / copy_rate:.0f} % of the COPY rate "
        f"(COPY ÷ accept = {copy_rate / rate:.1f}×); "
        f"sustained is {100 * sustained / copy_rate:.0f} % (COPY ÷ sustained = {copy_rate / sustained:.1f}×)"
    )
    for out, _spy in spies:
        if out.exists():
            what = "every thread" if args.profile == "wall" else "the thread holding the GIL"
            print(f"\nprofile of server {out.stem.split('-')[1]} (py-spy, {what})")
            for where in PROFILED:
                print("\n".join(summarize_profile(out, where)))
            if args.keep:
                print(f"  raw stacks: {out}")


if __name__ == "__main__":
    main()
