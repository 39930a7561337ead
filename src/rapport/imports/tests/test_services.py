import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook

from rapport.audit.models import AuditEntry
from rapport.commerce.models import CustomerStats, Order, Product
from rapport.commerce.stats import stats_match_orders
from rapport.core.actor import Actor, Source
from rapport.customers.models import ChangeRecord, Customer, Identity
from rapport.customers.services import identity_indexes
from rapport.imports.readers import UnusableFile
from rapport.imports.services import import_file
from rapport.imports.tests.conftest import read_report


def _zip_of_a_text_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "a")
    return buffer.getvalue()


ZIP_OF_A_TEXT_FILE = _zip_of_a_text_file()

pytestmark = pytest.mark.django_db

ACTOR = Actor(source=Source.IMPORT, label="test import")


def customers_by_external_id(channel="import"):
    return {i.external_id: i.customer for i in Identity.objects.filter(channel=channel).select_related("customer")}


def test_customers_good_rows_load_and_bad_rows_are_reported(testdata, tmp_path, vip_field):
    report = tmp_path / "report.csv"
    result = import_file(testdata / "customers_mixed.csv", kind="customers", actor=ACTOR, report_path=report)

    assert (result.processed_rows, result.created, result.updated, result.rejected) == (7, 3, 0, 4)
    loaded = customers_by_external_id()
    assert sorted(loaded) == ["c-001", "c-002", "c-005"]
    wang = loaded["c-001"]
    assert (wang.name, wang.phone, wang.email, wang.gender, str(wang.birthday)) == (
        "Wang Fang",
        "+8613812345678",
        "wang@example.com",
        "female",
        "1990-05-17",
    )
    assert wang.custom_fields == {"vip_level": "gold"}  # the "VIP level" column matched the label
    assert loaded["c-002"].phone == "+8613912345678"
    chen = loaded["c-005"]
    assert (chen.gender, str(chen.birthday), chen.custom_fields) == ("female", "1985-03-02", {"vip_level": "silver"})
    # Nothing of a bad row was written, not even its identity.
    assert Customer.objects.count() == 3
    assert not Identity.objects.filter(
        external_index__in=[i for x in ["c-003", "c-004", "c-006", "c-007"] for i in identity_indexes(x)]
    ).exists()

    rows = read_report(report)
    assert rows[0]["line"] == "1" and rows[0]["code"] == "ignored_column" and rows[0]["field"] == "favourite colour"
    errors = {(r["line"], r["field"], r["code"]) for r in rows[1:]}
    assert errors == {
        ("4", "name", "required"),
        ("5", "phone", "invalid"),
        ("7", "email", "invalid"),
        ("7", "birthday", "invalid"),
        ("8", "custom_fields.vip_level", "invalid"),
    }
    bad_phone = next(r for r in rows if r["line"] == "5")
    assert bad_phone["customer_id"] == "c-004" and bad_phone["phone"] == "12345"
    assert bad_phone["message"]
    liu = next(r for r in rows if r["line"] == "8")
    assert liu["name"] == "Liu, Yang" and "gold" in liu["message"]


def test_customer_reimport_is_idempotent(testdata, vip_field):
    first = import_file(testdata / "customers_mixed.csv", kind="customers", actor=ACTOR)
    changes = ChangeRecord.objects.count()
    second = import_file(testdata / "customers_mixed.csv", kind="customers", actor=ACTOR)

    assert (first.created, first.updated) == (3, 0)
    # the same file twice changes nothing and says so (the row-by-row import counted them "updated")
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 4)
    assert Customer.objects.count() == 3 and Identity.objects.count() == 3
    assert ChangeRecord.objects.count() == changes  # nothing actually changed


def test_reimport_with_changes_updates_and_records_history(tmp_path, db):
    path = tmp_path / "c.csv"
    path.write_text("id,name,city\nx1,Amy,Shanghai\n", encoding="utf-8")
    import_file(path, kind="customers", actor=ACTOR)
    path.write_text("id,name,city\nx1,Amy,Suzhou\nx2,Bob,\n", encoding="utf-8")
    result = import_file(path, kind="customers", actor=ACTOR)

    assert (result.created, result.updated) == (1, 1)
    amy = customers_by_external_id()["x1"]
    assert amy.city == "Suzhou"
    change = ChangeRecord.objects.get(customer=amy, field="city")
    assert (change.old_value, change.new_value, change.source) == ("Shanghai", "Suzhou", Source.IMPORT)


def test_blank_cells_do_not_clear_stored_values(tmp_path, db):
    path = tmp_path / "c.csv"
    path.write_text("id,name,phone\nx1,Amy,13812345678\n", encoding="utf-8")
    import_file(path, kind="customers", actor=ACTOR)
    path.write_text("id,name,phone\nx1,Amy,\n", encoding="utf-8")
    import_file(path, kind="customers", actor=ACTOR)
    assert customers_by_external_id()["x1"].phone == "+8613812345678"


def test_same_phone_under_a_new_id_joins_the_existing_customer(tmp_path, db):
    path = tmp_path / "c.csv"
    path.write_text("id,name,phone\nx1,Amy,13812345678\nx2,Amy Z,13812345678\n", encoding="utf-8")
    result = import_file(path, kind="customers", actor=ACTOR)
    assert (result.created, result.updated) == (1, 1)
    assert Customer.objects.count() == 1 and Identity.objects.count() == 2


def test_chinese_headers_and_values(testdata, tmp_path):
    report = tmp_path / "r.csv"
    result = import_file(testdata / "customers_zh.csv", kind="customers", actor=ACTOR, report_path=report)

    assert dict(result.columns)["手机号"] == "phone" and dict(result.columns)["会员编号"] == "external_id"
    assert (result.created, result.rejected) == (2, 1)
    zhang = customers_by_external_id()["m-01"]
    assert (zhang.name, zhang.phone, zhang.email, zhang.gender, zhang.city) == (
        "张伟",
        "+8613612345678",
        "zhangwei@example.com",
        "male",
        "上海",
    )
    assert str(zhang.birthday) == "1988-06-01"
    # A time without an offset is the shop's local time (Asia/Shanghai by default).
    assert zhang.registered_at.isoformat() == "2024-03-01T02:30:00+00:00"
    rows = read_report(report)
    assert [(r["line"], r["field"], r["姓名"]) for r in rows] == [("4", "phone", "王芳")]


def test_gb18030_file(testdata, tmp_path):
    raw = (testdata / "customers_gb18030.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    report = tmp_path / "r.csv"
    result = import_file(testdata / "customers_gb18030.csv", kind="customers", actor=ACTOR, report_path=report)
    assert (result.created, result.rejected) == (2, 1)
    assert customers_by_external_id()["m-02"].name == "李娜"
    assert read_report(report)[0]["姓名"] == "王芳"


def test_excel_unicode_text_is_utf16_with_tabs(testdata, tmp_path):
    """Excel's "Unicode text" export: UTF-16 with a byte order mark, tab-separated."""
    text = (testdata / "customers_zh.csv").read_text(encoding="utf-8").replace(",", "\t")
    path = tmp_path / "会员.txt"
    path.write_text(text, encoding="utf-16")
    result = import_file(path, kind="customers", actor=ACTOR)
    assert (result.created, result.rejected) == (2, 1)
    assert customers_by_external_id()["m-01"].name == "张伟"


def test_utf8_with_bom_semicolons_and_explicit_mapping(tmp_path, db):
    path = tmp_path / "c.csv"
    path.write_bytes("\ufeffKundennr;Vollname;Handy\nk1;Anna;13812345678\n".encode())
    result = import_file(
        path,
        kind="customers",
        actor=ACTOR,
        channel="shop-de",
        mapping={"Kundennr": "external_id", "Vollname": "name", "Handy": "phone"},
    )
    assert result.created == 1
    assert customers_by_external_id("shop-de")["k1"].phone == "+8613812345678"


def test_xlsx_import(tmp_path, catalogue):
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["商品编码", "商品名称", "价格", "是否上架"])
    sheet.append(["TEA-1", "Longjing 500g", 238.5, "是"])
    sheet.append(["CUP-9", "Celadon cup", 45, "否"])
    sheet.append(["BAD-1", "No price", None, None])
    sheet.append([None, None, None, None])
    sheet.append(["MUG-2", "Mug", "12.345", "maybe"])
    path = tmp_path / "products.xlsx"
    book.save(path)

    report = tmp_path / "r.csv"
    result = import_file(path, kind="products", actor=ACTOR, report_path=report)

    assert (result.processed_rows, result.created, result.updated, result.rejected) == (4, 1, 1, 2)
    tea = Product.objects.get(sku="TEA-1")
    assert (tea.name, tea.price, tea.is_active) == ("Longjing 500g", Decimal("238.50"), True)
    cup = Product.objects.get(sku="CUP-9")
    assert (cup.price, cup.is_active) == (Decimal("45.00"), False)
    errors = {(r["line"], r["field"], r["code"]) for r in read_report(report)}
    assert errors == {("4", "price", "required"), ("6", "is_active", "invalid"), ("6", "price", "invalid")}
    assert not Product.objects.filter(sku__in=["BAD-1", "MUG-2"]).exists()

    # Customers from a spreadsheet: numbers and dates typed as such come through as text.
    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name", "phone", "birthday"])
    sheet.append([1001, "Amy", 13812345678, dt.datetime(1990, 5, 17)])
    path = tmp_path / "customers.xlsx"
    book.save(path)
    import_file(path, kind="customers", actor=ACTOR)
    amy = customers_by_external_id()["1001"]
    assert (amy.phone, str(amy.birthday)) == ("+8613812345678", "1990-05-17")


def test_orders_good_rows_load_and_bad_rows_are_reported(testdata, tmp_path, catalogue, vip_field):
    import_file(testdata / "customers_mixed.csv", kind="customers", actor=ACTOR)
    report = tmp_path / "orders-report.csv"
    result = import_file(testdata / "orders_mixed.csv", kind="orders", actor=ACTOR, report_path=report)

    assert (result.processed_rows, result.created, result.updated, result.rejected) == (8, 3, 0, 4)
    orders = {o.external_id: o for o in Order.objects.all()}
    assert sorted(orders) == ["o-1001", "o-1002", "o-1006"]
    two_lines = orders["o-1001"]
    assert [(li.sku, li.name, li.quantity, li.line_total) for li in two_lines.lines.all()] == [
        ("TEA-1", "Longjing 250g", 2, Decimal("256.00")),
        ("CUP-1", "Tea cup", 1, Decimal("30.00")),
    ]
    assert two_lines.total == Decimal("296.00") and two_lines.shipping_total == Decimal("10.00")
    assert two_lines.placed_at.isoformat() == "2025-06-18T02:00:00+00:00"
    assert orders["o-1002"].status == "paid"  # 已付款
    assert orders["o-1006"].customer_id is None and orders["o-1006"].status == "pending"
    wang = customers_by_external_id()["c-001"]
    assert two_lines.customer == wang
    assert CustomerStats.objects.get(customer=wang).order_count == 1
    assert stats_match_orders(wang.pk)

    rows = read_report(report)
    errors = {(r["line"], r["field"], r["code"]) for r in rows if r["code"] != "ignored_column"}
    assert errors == {
        ("5", "customer_external_id", "not_found"),
        ("6", "external_id", "order_rejected"),
        ("7", "product_name", "required"),
        ("7", "unit_price", "required"),
        ("8", "placed_at", "invalid"),
    }
    assert next(r for r in rows if r["line"] == "7")["sku"] == "NOPE"
    # The good first line of the rejected order o-1004 was not written either.
    assert not Order.objects.filter(external_id="o-1004").exists()


def test_order_reimport_is_idempotent(testdata, catalogue, vip_field):
    import_file(testdata / "customers_mixed.csv", kind="customers", actor=ACTOR)
    import_file(testdata / "orders_mixed.csv", kind="orders", actor=ACTOR)
    order_entries = AuditEntry.objects.filter(object_type="commerce.order")
    audit_entries = order_entries.count()
    again = import_file(testdata / "orders_mixed.csv", kind="orders", actor=ACTOR)

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 4)
    assert Order.objects.count() == 3
    assert Order.objects.get(external_id="o-1001").lines.count() == 2
    assert order_entries.count() == audit_entries  # unchanged orders write nothing
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT, object_type="imports.orders").count() == 2


def test_cdnow_orders(testdata, tmp_path):
    """Real purchase records: one row per purchase, no SKU, customers known by their CDNOW id."""
    import csv

    with open(testdata / "cdnow_orders.csv", newline="") as handle:
        purchases = list(csv.DictReader(handle))
    customers = tmp_path / "cdnow_customers.csv"
    ids = sorted({p["customer_id"] for p in purchases})
    customers.write_text("customer_id,name\n" + "".join(f"{i},CDNOW {i}\n" for i in ids), encoding="utf-8")
    assert import_file(customers, kind="customers", actor=ACTOR, channel="cdnow").created == 60

    result = import_file(testdata / "cdnow_orders.csv", kind="orders", actor=ACTOR, channel="cdnow", batch_size=40)

    assert (result.processed_rows, result.created, result.rejected) == (len(purchases), len(purchases), 0)
    assert Order.objects.count() == len(purchases)
    total = sum(Decimal(p["dollar_value"]) for p in purchases)
    assert sum(o.total for o in Order.objects.all()) == total
    second = Order.objects.get(external_id="00002-19970112-2")
    line = second.lines.get()
    assert (line.sku, line.quantity, second.total) == ("UNSPECIFIED", 5, Decimal("77.00"))
    assert second.placed_at.date().isoformat() == "1997-01-11"  # midnight in Shanghai is the day before in UTC
    customer = customers_by_external_id("cdnow")["00002"]
    stats = CustomerStats.objects.get(customer=customer)
    assert stats.order_count == 2 and stats.total_spent == Decimal("89.00")
    assert all(stats_match_orders(c.pk) for c in Customer.objects.all())


def test_dry_run_writes_nothing(testdata, tmp_path, vip_field):
    report = tmp_path / "r.csv"
    result = import_file(
        testdata / "customers_mixed.csv", kind="customers", actor=ACTOR, dry_run=True, report_path=report
    )
    assert (result.created, result.rejected) == (3, 4)
    assert Customer.objects.count() == 0 and AuditEntry.objects.filter(object_type="customers.customer").count() == 0
    assert len(read_report(report)) == 6


def test_progress_is_reported_per_batch(testdata, vip_field):
    seen = []
    import_file(
        testdata / "customers_mixed.csv",
        kind="customers",
        actor=ACTOR,
        batch_size=3,
        on_start=lambda r: seen.append(("start", r.total_rows)),
        on_batch=lambda r: seen.append((r.processed_rows, r.created, r.rejected)),
    )
    assert seen == [("start", 7), (3, 2, 1), (6, 3, 3), (7, 3, 4)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nothing.csv", None, "no such file"),
        ("data.json", b"{}", "unknown file format"),
        ("old.xls", b"\xd0\xcf\x11\xe0rest", "xls"),
        ("empty.csv", b"", "empty"),
        ("nokey.csv", b"name,phone\nAmy,13812345678\n", "external_id"),
        ("binary.csv", b"\x81\xff\x00" * 20, "not UTF-8, GB18030 or UTF-16"),
        ("broken.xlsx", b"PK\x03\x04not really a zip", "xlsx"),
        ("archive.zip", ZIP_OF_A_TEXT_FILE, "xlsx"),  # a zip but no workbook (the API fuzzing sent one)
    ],
)
def test_unusable_files_raise_a_clear_error(tmp_path, db, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UnusableFile, match=message):
        import_file(path, kind="customers", actor=ACTOR)
    assert Customer.objects.count() == 0


def test_missing_key_column_names_the_column(tmp_path, db):
    path = tmp_path / "orders.csv"
    path.write_text("客户,金额\nc1,10\n", encoding="utf-8")
    with pytest.raises(UnusableFile) as info:
        import_file(path, kind="orders", actor=ACTOR)
    text = str(info.value)
    assert "'external_id'" in text and "订单号" in text and "客户, 金额" in text


def test_bad_mapping_is_refused(tmp_path, db):
    path = tmp_path / "c.csv"
    path.write_text("id,name\nx1,Amy\n", encoding="utf-8")
    with pytest.raises(UnusableFile, match="unknown field 'nickname'"):
        import_file(path, kind="customers", actor=ACTOR, mapping={"name": "nickname"})
    with pytest.raises(UnusableFile, match="column 'surname'"):
        import_file(path, kind="customers", actor=ACTOR, mapping={"surname": "name"})
