"""The set-based engine: duplicates in a file, history versus live, resume, cancel, data at rest."""

import gc
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from rapport.audit.models import AuditEntry
from rapport.commerce.models import CustomerStats, Order, OrderLine, Product
from rapport.commerce.signals import order_saved
from rapport.commerce.stats import stats_match_orders
from rapport.core.actor import Actor, Source
from rapport.customers.models import ChangeRecord, Customer, Identity
from rapport.customers.services import identity_indexes
from rapport.imports import engine, indexes, services, staging
from rapport.imports.models import DeferredIndex, ImportJob
from rapport.imports.services import import_file
from rapport.imports.staging import STAGE_PREFIX
from rapport.imports.tests.conftest import read_report
from rapport.loyalty.models import Account, EarnRule, EarnRuleKind, Level, LevelChange, Membership

pytestmark = pytest.mark.django_db

ACTOR = Actor(source=Source.IMPORT, label="test import")
CUSTOMERS = "id,name,phone,email\nc1,Amy,13812345678,amy@example.com\nc2,Bob,13912345678,\nc3,Cai,,cai@example.com\n"
ORDERS = (
    "order_id,customer_id,date,status,sku,product_name,qty,unit_price\n"
    "o1,c1,2023-05-01 10:00,completed,TEA-1,Tea,2,300.00\n"
    "o1,c1,2023-05-01 10:00,completed,CUP-1,Cup,1,30.00\n"
    "o2,c2,2023-06-01 09:00,paid,TEA-1,Tea,1,300.00\n"
    "o3,c1,2023-07-01 09:00,paid,CUP-1,Cup,1,30.00\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _noting_thread(function, name, where):
    def noted(*args, **kwargs):
        where.setdefault(name, set()).add(threading.current_thread().name)
        return function(*args, **kwargs)

    return noted


def _dies_on_chunk(number, monkeypatch):
    """Make the job stop as a killed worker would when it reaches chunk ``number``; the real
    ``run_chunk``, to put back for the resumed run."""
    real_run = engine.run_chunk
    calls = []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run_chunk", dies)
    return real_run


def _replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return str(cursor.fetchone()[0])


def test_on_postgresql_new_orders_keys_are_checked_once_a_chunk_and_still_enforced(tmp_path, monkeypatch):
    """Orders and lines go in without PostgreSQL's per-row key triggers, their buyers and products
    found and locked once a chunk instead: a product gone between cleaning and writing still
    stops the chunk, and nothing of it is written."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's foreign-key triggers")
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    tea = Product.objects.create(sku="TEA-1", name="Tea", price=Decimal("300.00"))
    real_clean = engine.OrderMerger._clean

    def clean_then_lose_the_product(self, chunk, outcome):
        cleaned = real_clean(self, chunk, outcome)
        Product.objects.filter(pk=tea.pk).delete()
        return cleaned

    monkeypatch.setattr(engine.OrderMerger, "_clean", clean_then_lose_the_product)
    with pytest.raises(IntegrityError, match="commerce_product"):
        import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert _replication_role() == "origin"

    monkeypatch.setattr(engine.OrderMerger, "_clean", real_clean)
    assert Product.objects.filter(pk=tea.pk).exists()  # its deletion went with the chunk's transaction
    import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    assert OrderLine.objects.filter(product=tea).count() == 2 and _replication_role() == "origin"


def test_on_postgresql_a_look_up_is_one_index_probe_a_value_whatever_the_statistics():
    """``staging.find`` joins the values to the table laterally: a nested loop over the values, each
    an index probe on every column given (``column = ANY(array)`` was planned from statistics that
    a table the job fills has not got, and filtered the whole table by the channel alone)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    from django.test.utils import CaptureQueriesContext

    numbers = [f"O{i:08d}" for i in range(4000)]
    with CaptureQueriesContext(connection) as queries:
        assert staging.find(Order, ["id"], "external_id", numbers, channel="import") == []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table of millions of rows
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = [line for (line,) in cursor.fetchall()]
    assert plan[0].startswith("Nested Loop") and "Function Scan on unnest" in "\n".join(plan)
    probe = next(line for line in plan if "Index Cond" in line)
    assert "channel" in probe and "external_id" in probe and "wanted.value" in probe


def test_the_tables_written_without_triggers_have_none_of_their_own():
    """``staging.references_checked_at_once`` skips every trigger of the tables it writes: a trigger
    added to them would be skipped too, so one must not be added without changing that."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's triggers")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY(%s::regclass[])",
            [["commerce_order", "commerce_orderline"]],
        )
        assert cursor.fetchall() == []


def test_a_key_twice_in_the_file_is_reported_on_its_second_line(tmp_path):
    customers = write(tmp_path, "c.csv", "id,name\nc1,Amy\nc2,Bob\nc1,Amy again\n")
    report = tmp_path / "r.csv"
    result = import_file(customers, kind="customers", actor=ACTOR, report_path=report)
    assert (result.created, result.rejected) == (2, 1)
    assert (
        Customer.objects.get(identities__external_index__in=identity_indexes("c1")).name == "Amy"
    )  # not last-row-wins
    [error] = read_report(report)
    assert (error["line"], error["field"], error["code"]) == ("4", "external_id", "duplicate_key")
    assert "line 2" in error["message"]

    # an order number that comes back after another order is a duplicate too, across chunks
    orders = write(
        tmp_path,
        "o.csv",
        "order_id,date,total\no1,2023-01-01,10\no2,2023-01-02,20\no1,2023-01-03,30\n",
    )
    result = import_file(orders, kind="orders", actor=ACTOR, report_path=report, batch_size=1)
    assert (result.created, result.rejected) == (2, 1)
    assert Order.objects.get(external_id="o1").total == Decimal("10.00")
    assert [(r["line"], r["code"]) for r in read_report(report)] == [("4", "duplicate_key")]


@pytest.mark.django_db(databases=[])
def test_duplicate_keys_remember_each_key_s_first_line_as_the_table_grows():
    keys = engine.DuplicateKeys(capacity=8)
    for line in range(2, 1002):  # grown from 8 slots to 2,048 on the way
        assert keys.first_line(("import", f"o{line}"), line) is None
    assert keys.first_line(("import", "o2"), 5000) == 2
    assert keys.first_line(("import", "o1001"), 5001) == 1001
    assert keys.first_line(("shop", "o2"), 5002) is None  # another channel's key


def test_orders_land_with_their_lines_and_statistics(tmp_path):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    result = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR, batch_size=2)
    assert (result.processed_rows, result.created, result.rejected) == (4, 3, 0)
    o1 = Order.objects.get(external_id="o1")
    assert [(li.sku, li.quantity, li.line_total) for li in o1.lines.all()] == [
        ("TEA-1", 2, Decimal("600.00")),
        ("CUP-1", 1, Decimal("30.00")),
    ]
    assert o1.total == Decimal("630.00") and o1.placed_at.isoformat() == "2023-05-01T02:00:00+00:00"
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    stats = CustomerStats.objects.get(customer=amy)
    assert (stats.order_count, stats.total_spent) == (2, Decimal("660.00"))
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())

    # the same file again: nothing changes, and the counts say so
    again = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    # a changed line replaces the order's lines; the customer's statistics follow
    changed = ORDERS.replace("CUP-1,Cup,1,30.00\no2", "CUP-1,Cup,3,30.00\no2")
    result = import_file(write(tmp_path, "o.csv", changed), kind="orders", actor=ACTOR)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert OrderLine.objects.filter(order__external_id="o1").count() == 2
    assert Order.objects.get(external_id="o1").total == Decimal("690.00")
    assert CustomerStats.objects.get(customer=amy).total_spent == Decimal("720.00")


def test_customers_match_by_phone_and_email_and_keep_one_person_per_phone(tmp_path):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    text = (
        "id,name,phone,email\n"
        "x1,Amy Z,13812345678,\n"  # Amy's phone: joins Amy
        "x2,Cai Z,,cai@example.com\n"  # Cai's email: joins Cai
        "c2,Bob,13812345678,\n"  # Bob taking Amy's phone: refused
        "x3,Dan,13700000001,\n"
        "x4,Dan twin,13700000001,\n"  # same phone as the row before: joins Dan
    )
    report = tmp_path / "r.csv"
    result = import_file(write(tmp_path, "m.csv", text), kind="customers", actor=ACTOR, report_path=report)
    assert (result.created, result.updated, result.rejected) == (1, 3, 1)
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    assert set(amy.identities.values_list("external_id", flat=True)) == {"c1", "x1"} and amy.name == "Amy Z"
    assert Customer.objects.get(identities__external_index__in=identity_indexes("x2")).identities.count() == 2
    assert Customer.objects.get(identities__external_index__in=identity_indexes("x4")).name == "Dan twin"
    assert [(r["line"], r["field"], r["code"]) for r in read_report(report)] == [("4", "phone", "duplicate")]
    assert [(c.old_value, c.new_value) for c in ChangeRecord.objects.filter(customer=amy, field="name")] == [
        ("Amy", "Amy Z")
    ]


@pytest.fixture
def loyalty(db):
    rule = EarnRule.objects.create(name="Base", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=Decimal("1"))
    silver = Level.objects.create(name="Silver", rank=1, threshold=Decimal("500"), keep_threshold=Decimal("300"))
    return rule, silver


@pytest.fixture
def order_signals():
    seen = []

    def receiver(sender, order, **kwargs):
        seen.append(order.external_id)

    order_saved.connect(receiver, dispatch_uid="test-import-order-signals")
    yield seen
    order_saved.disconnect(dispatch_uid="test-import-order-signals")


def test_history_sends_no_signal_earns_nothing_and_sets_levels_as_a_baseline(tmp_path, loyalty, order_signals):
    _rule, silver = loyalty
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    result = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    assert result.created == 3
    assert order_signals == []  # no points, no journey, no message: nothing listens to what never fired
    assert not Account.objects.exists()
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    membership = Membership.objects.get(customer=amy)
    # 660 of growth within the window? the orders are from 2023, outside a one-year window: no level
    assert membership.level is None or membership.level == silver
    assert not LevelChange.objects.exists()  # a baseline, never a "level changed" event


def test_history_levels_from_recent_orders_without_level_events(tmp_path, loyalty, order_signals):
    import datetime as dt

    _rule, silver = loyalty
    recent = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    import_file(write(tmp_path, "o.csv", ORDERS.replace("2023-05-01", recent)), kind="orders", actor=ACTOR)
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    assert Membership.objects.get(customer=amy).level == silver
    assert not LevelChange.objects.exists() and order_signals == []


def test_live_goes_through_the_services_with_their_consequences(tmp_path, loyalty, order_signals):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR, mode="live")
    result = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR, mode="live")
    assert result.created == 3
    assert sorted(order_signals) == ["o1", "o2", "o3"]
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    assert Account.objects.get(customer=amy).balance == Decimal("660")


def test_a_killed_job_resumes_after_its_last_committed_chunk(tmp_path, monkeypatch, system_actor):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    path = write(tmp_path, "o.csv", ORDERS + "o4,c3,2023-08-01,paid,TEA-1,Tea,1,300.00\n")
    job = services.create_job(
        kind="orders", path=path, original_name="o.csv", channel="import", mapping={}, actor=system_actor
    )
    real = engine.run_chunk
    calls = []

    def dies_on_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as kill -9 would: nothing after the first chunk's commit runs
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_chunk", dies_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        services.run_job(job.pk, batch_size=2)
    job.refresh_from_db()
    assert (job.status, job.committed_line, job.created_rows) == ("running", 3, 1)  # o1 with its two lines
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2

    monkeypatch.setattr(engine, "run_chunk", real)
    job, _result = services.run_job(job.pk, batch_size=2)
    assert job.status == "succeeded"
    assert (job.processed_rows, job.created_rows, job.unchanged_rows, job.error_rows) == (5, 4, 0, 0)
    assert Order.objects.count() == 4 and OrderLine.objects.count() == 5
    assert AuditEntry.objects.filter(action="import", object_id=str(job.pk)).count() == 1
    # statistics are written once at the end: the resumed run also wrote those of o1's buyer,
    # whose order the killed run had committed
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    assert CustomerStats.objects.get(customer=amy).order_count == 2


ORDER_TABLES = ["commerce_order", "commerce_orderline"]


def _indexes_of(tables):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1", [tables])
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (%s, %s) ORDER BY 1", tables
            )
        return [name for (name,) in cursor.fetchall()]


def _noting_indexes(monkeypatch, tables):
    """The tables' indexes as each chunk of the next job starts."""
    real_run, seen = engine.run_chunk, []

    def noting(*args, **kwargs):
        seen.append(_indexes_of(tables))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run_chunk", noting)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_first_load_builds_the_secondary_indexes_once_after_its_chunks(tmp_path, monkeypatch):
    """Into empty tables the chunks go without the indexes that enforce nothing (the unique ones
    and primary keys stay: the job's look-ups use them); every index is back when the job returns.
    Into tables that hold rows, nothing is set aside."""
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    before = _indexes_of(ORDER_TABLES)
    seen = _noting_indexes(monkeypatch, ORDER_TABLES)
    result = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR, batch_size=2)
    assert result.created == 3 and len(seen) == 2
    assert all(set(during) < set(before) for during in seen)
    unique = (
        "order_channel_external_id_unique" if connection.vendor == "postgresql" else "sqlite_autoindex_commerce_order_1"
    )
    assert unique in seen[0]  # the order number's uniqueness, which the look-ups use
    assert "commerce_orderline_order_id" in " ".join(before) and "commerce_orderline_order_id" not in " ".join(seen[0])
    assert _indexes_of(ORDER_TABLES) == before and not DeferredIndex.objects.exists()
    assert result.clock.wall["indexing"] > 0

    seen.clear()
    again = import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR, batch_size=2)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert seen == [before, before]


@pytest.mark.django_db(transaction=True)
def test_a_killed_first_load_leaves_its_indexes_to_the_next_import(tmp_path, monkeypatch, system_actor):
    """Killed mid-load, the job leaves its indexes recorded as set aside; resumed, it builds them
    before anything else, and ends with every index and every order once."""
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    before = _indexes_of(ORDER_TABLES)
    job = services.create_job(
        kind="orders",
        path=write(tmp_path, "o.csv", ORDERS),
        original_name="o.csv",
        channel="import",
        mapping={},
        actor=system_actor,
    )
    real_run = _dies_on_chunk(2, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        services.run_job(job.pk, batch_size=2)
    left = _indexes_of(ORDER_TABLES)
    assert set(left) < set(before)
    assert sorted(DeferredIndex.objects.values_list("name", flat=True)) == sorted(set(before) - set(left))

    monkeypatch.setattr(engine, "run_chunk", real_run)
    job, _result = services.run_job(job.pk, batch_size=2)
    assert job.status == "succeeded" and (job.created_rows, job.error_rows) == (3, 0)
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 4
    assert _indexes_of(ORDER_TABLES) == before and not DeferredIndex.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_indexes_left_over_are_not_built_while_a_live_job_holds_their_table(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory locks")
    import psycopg

    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    before = _indexes_of(ORDER_TABLES)
    _dies_on_chunk(1, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    waiting = set(DeferredIndex.objects.values_list("table", flat=True))
    assert waiting == set(ORDER_TABLES)
    settings = connection.settings_dict
    url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    with psycopg.connect(url, autocommit=True) as other:  # another job, loading the orders
        other.execute("SELECT pg_advisory_lock(%s, hashtext('commerce_order'))", [indexes.LOCK_SPACE])
        assert indexes.rebuild_left_over() > 0
        assert set(DeferredIndex.objects.values_list("table", flat=True)) == {"commerce_order"}
        other.execute("SELECT pg_advisory_unlock(%s, hashtext('commerce_order'))", [indexes.LOCK_SPACE])
    assert indexes.rebuild_left_over() > 0
    assert _indexes_of(ORDER_TABLES) == before and not DeferredIndex.objects.exists()


def test_statistics_are_written_once_after_the_last_chunk(tmp_path, monkeypatch):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    written: list[set[int]] = []
    real = engine.write_stats
    monkeypatch.setattr(engine, "write_stats", lambda ids: (written.append(set(ids)), real(ids)))
    import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR, batch_size=1)
    buyers = set(Order.objects.values_list("customer_id", flat=True))
    assert written == [buyers]  # one call for three chunks
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())


def test_a_shipping_address_is_imported_encrypted_and_kept_when_a_file_has_none(tmp_path):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    with_address = (
        "订单号,客户编号,下单时间,总金额,收货地址\n"
        "o1,c1,2023-05-01,100,上海市浦东新区世纪大道100号\n"
        "o2,c2,2023-05-02,50,\n"
    )
    result = import_file(write(tmp_path, "o.csv", with_address), kind="orders", actor=ACTOR)
    assert (result.created, result.rejected) == (2, 0)
    o1 = Order.objects.get(external_id="o1")
    assert o1.shipping_address == "上海市浦东新区世纪大道100号"
    assert Order.objects.get(external_id="o2").shipping_address == ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT shipping_address FROM commerce_order WHERE id = %s", [o1.pk])
        stored = cursor.fetchone()[0]
    assert "世纪大道" not in stored and stored  # encrypted at rest

    # the same orders without the column: nothing changes, the address stays
    without = "订单号,客户编号,下单时间,总金额\no1,c1,2023-05-01,100\no2,c2,2023-05-02,50\n"
    again = import_file(write(tmp_path, "o2.csv", without), kind="orders", actor=ACTOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Order.objects.get(external_id="o1").shipping_address == "上海市浦东新区世纪大道100号"
    # a new address replaces it
    moved = with_address.replace("世纪大道100号", "南京路1号")
    result = import_file(write(tmp_path, "o3.csv", moved), kind="orders", actor=ACTOR)
    assert (result.updated, result.unchanged) == (1, 1)
    assert Order.objects.get(external_id="o1").shipping_address == "上海市浦东新区南京路1号"


def test_cancel_keeps_the_committed_chunks_and_says_so(tmp_path, system_actor):
    path = write(tmp_path, "c.csv", "id,name\n" + "".join(f"c{i},Name {i}\n" for i in range(10)))
    job = services.create_job(
        kind="customers", path=path, original_name="c.csv", channel="import", mapping={}, actor=system_actor
    )

    def cancel_after_first(result):
        ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    job, result = services.run_job(job.pk, batch_size=4, on_chunk=cancel_after_first)
    assert job.status == "cancelled" and "kept" in job.error_message
    assert Customer.objects.count() == 4 and job.created_rows == 4
    assert result is not None and "cancelled" in result.summary()


def test_no_personal_data_left_in_staging_tables_or_the_data_folder(tmp_path, settings, system_actor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    upload = SimpleUploadedFile("c.csv", (CUSTOMERS + 'c9,=HYPERLINK("x"),12345,\n').encode())
    job = services.start_job(kind="customers", upload=upload, channel="import", mapping={}, actor=system_actor)
    stored = Path(job.file_path).read_bytes()
    assert b"13812345678" not in stored and b"amy@example.com" not in stored  # encrypted while it waits
    job, _result = services.run_job(job.pk)
    assert job.status == "succeeded" and job.error_rows == 1
    assert not Path(job.file_path).exists()  # the upload is gone once the job is done
    for path in Path(settings.RAPPORT_DATA_DIR).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"1381234" not in data and b"amy@example" not in data and b"12345" not in data, path
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert not [t for t in tables if t.startswith(STAGE_PREFIX)]
    # the report decrypts to a formula-safe CSV
    [row] = read_report(job.report_path)
    assert row["name"] == '\'=HYPERLINK("x")' and row["phone"] == "12345"
    assert Identity.objects.count() == 3


REFUNDS = (
    "退款单号,订单号,退款金额,退款时间,退款原因\n"
    "r1,o1,30.00,2023-05-03 12:00,broken cup\n"
    "r2,o1,600.00,2023-05-04,\n"  # refunds the rest: o1 becomes refunded
    "r3,o2,400.00,2023-06-02,\n"  # more than o2's total
    "r4,o9,10.00,2023-06-02,\n"  # no such order
    "r1,o1,30.00,2023-05-03 12:00,broken cup\n"  # the same refund twice in the file
    "r5,o3,-1,2023-07-02,\n"  # not an amount
)


@pytest.mark.parametrize("mode", ["history", "live"])
def test_refunds_are_a_kind_of_their_own(tmp_path, mode):
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    import_file(write(tmp_path, "o.csv", ORDERS), kind="orders", actor=ACTOR)
    report = tmp_path / "r.csv"
    path = write(tmp_path, "refunds.csv", REFUNDS)
    result = import_file(path, kind="refunds", actor=ACTOR, report_path=report, mode=mode)
    # live goes through record_refund, for which a refund sent twice is the same refund
    assert (result.created, result.rejected) == (2, 4 if mode == "history" else 3)
    errors = {(r["line"], r["field"], r["code"]) for r in read_report(report)}
    expected_duplicate = ("6", "external_id", "duplicate_key") if mode == "history" else None
    assert {
        ("4", "amount", "exceeds_refundable"),
        ("5", "order_external_id", "not_found"),
        ("7", "amount", "invalid"),
    } <= errors
    if expected_duplicate:
        assert expected_duplicate in errors
    o1 = Order.objects.get(external_id="o1")
    assert (o1.refunded_total, o1.status) == (Decimal("630.00"), "refunded")
    assert sorted(o1.refunds.values_list("external_id", "amount")) == [
        ("r1", Decimal("30.00")),
        ("r2", Decimal("600.00")),
    ]
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    assert CustomerStats.objects.get(customer=amy).total_refunded == Decimal("630.00")
    assert stats_match_orders(amy.pk)

    again = import_file(write(tmp_path, "refunds.csv", REFUNDS.replace("r3", "r6")), kind="refunds", actor=ACTOR)
    assert again.created == 0 and Order.objects.get(external_id="o1").refunded_total == Decimal("630.00")


def test_segment_membership_is_a_baseline_after_history_but_an_entry_after_live(tmp_path, system_actor):
    from rapport.segments import services as segments

    rule = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}
    segment = segments.save_segment(data={"name": "上海", "rule": rule}, actor=system_actor)
    segments.take_snapshot(segment)
    rows = "id,name,city\n" + "".join(f"h{i},History {i},上海\n" for i in range(3))
    import_file(write(tmp_path, "h.csv", rows), kind="customers", actor=ACTOR)
    after_history = segments.take_snapshot(segment)
    assert (after_history.member_count, after_history.entered_count) == (3, 0)  # no "entered segment"

    rows = "id,name,city\n" + "".join(f"l{i},Live {i},上海\n" for i in range(2))
    import_file(write(tmp_path, "l.csv", rows), kind="customers", actor=ACTOR, mode="live")
    after_live = segments.take_snapshot(segment)
    assert (after_live.member_count, after_live.entered_count) == (5, 2)


def test_imported_customers_are_found_by_phone_tail_and_pinyin(tmp_path):
    from rapport.customers.services import search

    import_file(
        write(tmp_path, "c.csv", "id,name,phone\nz1,王芳,13812341057\nz2,李雷,13900000000\n"),
        kind="customers",
        actor=ACTOR,
    )
    assert [c.name for c in search(Customer.objects.all(), "1057")] == ["王芳"]
    assert [c.name for c in search(Customer.objects.all(), "wang fang")] == ["王芳"]


def _page_cache() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return int(cursor.fetchone()[0])


def test_sqlite_keeps_a_larger_page_cache_while_a_job_runs_and_restores_it(tmp_path, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    seen: list[int] = []
    real = engine.run_chunk
    monkeypatch.setattr(engine, "run_chunk", lambda *a, **k: (seen.append(_page_cache()), real(*a, **k))[1])
    before = _page_cache()
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    assert seen == [-staging.SQLITE_JOB_CACHE_KIB] and _page_cache() == before


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_next_chunk_is_cleaned_ahead_with_the_same_outcome(tmp_path, monkeypatch, system_actor):
    """Outside a transaction, PostgreSQL cleans the next chunk in a thread while this one is written:
    the same orders, duplicates, errors, resume and statistics as chunk by chunk."""
    if connection.vendor != "postgresql":
        pytest.skip("cleaning ahead needs a second connection that sees committed chunks")
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    threads = []
    real_clean = engine.OrderMerger.clean

    def clean(self, chunk, outcome):
        import threading

        threads.append(threading.current_thread().name)
        return real_clean(self, chunk, outcome)

    monkeypatch.setattr(engine.OrderMerger, "clean", clean)
    # the look-ups, ids and encryption of a chunk are prepared in the thread; the caller only writes
    where: dict[str, set[str]] = {}
    for module, name in [(staging, "allocate_ids"), (staging.pii, "encrypt_many"), (staging, "insert")]:
        monkeypatch.setattr(module, name, _noting_thread(getattr(module, name), name, where))
    switch_interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    text = ORDERS + "o4,nobody,2023-08-01,paid,TEA-1,Tea,1,300.00\no2,c2,2023-09-01,paid,TEA-1,Tea,1,1.00\n"
    path = write(tmp_path, "o.csv", text + "o5,c3,2023-08-01,paid,TEA-1,Tea,1,300.00\n")
    job = services.create_job(
        kind="orders", path=path, original_name="o.csv", channel="import", mapping={}, actor=system_actor
    )
    real_run = _dies_on_chunk(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        services.run_job(job.pk, batch_size=2)
    assert set(threads) == {"import-clean-ahead"}
    assert where == {
        "allocate_ids": {"import-clean-ahead"},
        "encrypt_many": {"import-clean-ahead"},
        "insert": {"MainThread"},
    }
    assert (sys.getswitchinterval(), gc.get_threshold()) == (switch_interval, threshold)  # restored
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 4  # o1 (two lines), o2, o3

    monkeypatch.setattr(engine, "run_chunk", real_run)
    job, _result = services.run_job(job.pk, batch_size=2)
    assert job.status == "succeeded"
    assert (job.created_rows, job.error_rows) == (4, 2)  # o4's buyer unknown; o2 twice in the file
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["o1", "o2", "o3", "o5"]
    assert Order.objects.get(external_id="o2").total == Decimal("300.00")
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_customers_are_cleaned_ahead_and_matched_after_the_earlier_chunks_commit(tmp_path, monkeypatch):
    """The next chunk of customers is parsed and its new profiles cleaned in a thread; who already
    holds a phone or an email, and the stored customers an identity names, are read after the
    earlier chunks commit: a row joins the customer an earlier chunk created or changed."""
    if connection.vendor != "postgresql":
        pytest.skip("cleaning ahead needs a second connection that sees committed chunks")
    import_file(write(tmp_path, "c0.csv", "id,name,phone\nc9,Ida,13712345678\n"), kind="customers", actor=ACTOR)
    threads: dict[str, set[str]] = {}
    for name in ("clean", "write"):
        monkeypatch.setattr(
            engine.CustomerMerger, name, _noting_thread(getattr(engine.CustomerMerger, name), name, threads)
        )
    text = (
        "id,name,phone,email\n"
        "c1,Amy,13812345678,amy@example.com\n"
        "c9,Ida Wu,13712345678,ida@example.com\n"  # a stored customer, changed by this chunk
        "c3,Amy Again,13812345678,\n"  # Amy's phone: joins the customer the first chunk created
        "c4,Bad,notaphone,\n"
        "c5,Ida,,ida@example.com\n"  # the email the first chunk gave Ida: joins her
        "c1,Amy twice,,\n"
    )
    result = import_file(write(tmp_path, "c.csv", text), kind="customers", actor=ACTOR, batch_size=2)
    assert threads == {"clean": {"import-clean-ahead"}, "write": {"MainThread"}}
    assert (result.created, result.updated, result.rejected) == (1, 3, 2)
    assert Customer.objects.count() == 2
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c3"))
    assert (amy.name, amy.email) == ("Amy Again", "amy@example.com")
    ida = Customer.objects.get(identities__external_index__in=identity_indexes("c5"))
    assert (ida.name, ida.email) == ("Ida", "ida@example.com")
    assert [e.line for e in result.first_errors] == [5, 7]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 100])
def test_orders_are_read_a_chunk_at_a_time_never_split(size):
    """One loop reads, groups and chunks an order file: the chunks hold the same orders as the
    row-by-row grouping, in order, none split, each at least ``size`` rows but the last."""
    keys = ["o1", "o1", "o2", "", "", "o3", "o3", "o3", "o1", "o4"]  # a row without a number: its own
    rows = [(line, [key, "x"]) for line, key in enumerate(keys, start=2)]
    orders = services.OrderGrouper(iter(rows), 0)
    chunks = []
    while chunk := orders.fill(size):
        chunks.append(chunk)
    assert orders.fill(size) == []
    units = [unit for chunk in chunks for unit in chunk]
    assert [[line for line, _v in unit] for unit in units] == [[2, 3], [4], [5], [6], [7, 8, 9], [10], [11]]
    assert all(sum(map(len, chunk)) >= size for chunk in chunks[:-1])
    live = services.OrderRows.__new__(services.OrderRows)  # the live path groups the same way
    live.key_index = 0
    assert list(live.units(iter(rows))) == units


@pytest.mark.django_db(transaction=True)
def test_a_job_resumed_with_another_chunk_size_skips_what_was_committed(tmp_path, monkeypatch, system_actor):
    """The committed line may fall inside a chunk of the resumed run: its committed orders are
    remembered (a duplicate of them is still refused), the rest written once."""
    import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    text = ORDERS + "o4,c3,2023-08-01,paid,TEA-1,Tea,1,300.00\no1,c1,2023-09-01,paid,TEA-1,Tea,1,1.00\n"
    path = write(tmp_path, "o.csv", text + "o5,c3,2023-08-01,paid,TEA-1,Tea,1,300.00\n")
    job = services.create_job(
        kind="orders", path=path, original_name="o.csv", channel="import", mapping={}, actor=system_actor
    )
    real_run = _dies_on_chunk(2, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        services.run_job(job.pk, batch_size=2)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["o1"]  # lines 2-3 committed

    monkeypatch.setattr(engine, "run_chunk", real_run)
    job, _result = services.run_job(job.pk, batch_size=3)  # chunks: lines 2-4 (o1 committed, o2), …
    assert job.status == "succeeded"
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["o1", "o2", "o3", "o4", "o5"]
    assert OrderLine.objects.count() == 6
    assert (job.created_rows, job.error_rows) == (5, 1)  # o1 again on line 7: a duplicate in the file
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())


def test_the_garbage_collector_is_set_back_after_a_job(tmp_path):
    before = gc.get_threshold()
    seen = []
    real = engine.run_chunk

    def noting(*args, **kwargs):
        seen.append(gc.get_threshold()[0])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "run_chunk", noting)
        import_file(write(tmp_path, "c.csv", CUSTOMERS), kind="customers", actor=ACTOR)
    assert seen == [max(engine.JOB_GC_THRESHOLD, before[0])] and gc.get_threshold() == before


def test_settings_changed_for_jobs_are_set_back_when_the_last_job_ends():
    """Jobs in threads of one process, ending in any order: the first saves, the last restores."""
    before = gc.get_threshold()
    first, second = engine.fewer_collections(), engine.fewer_collections()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold()[0] == max(engine.JOB_GC_THRESHOLD, before[0])
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(engine.JOB_GC_THRESHOLD, before[0])  # the second still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
