"""Stock levels through the import engine: the ledger keeps on hand = sum of movements, bad rows are
reported by line and field, the same file twice changes nothing, and history orders move no stock."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from rapport.commerce import services as commerce
from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.imports import services
from rapport.imports.readers import UnusableFile
from rapport.inventory import services as stock
from rapport.inventory.models import Location, LowStockAlert, StockItem, StockMovement, StockPlan, StockSubscription

pytestmark = pytest.mark.django_db

TESTDATA = Path(__file__).resolve().parent.parent / "src" / "rapport" / "imports" / "testdata"
ACTOR = Actor.system("test")


@pytest.fixture
def teas(db, store):
    products = {}
    for n in (1, 2, 3):
        products[n] = commerce.upsert_product(data={"sku": f"TEA-{n}", "name": f"Tea {n}", "price": "88"}, actor=ACTOR)[
            0
        ]
    # TEA-3 has history at the warehouse: 10 received, 2 written off
    warehouse = stock.default_location()
    stock.record_movement(products[3], warehouse, data={"kind": "receipt", "quantity": 10}, actor=ACTOR)
    stock.record_movement(products[3], warehouse, data={"kind": "adjustment", "quantity": -2}, actor=ACTOR)
    return products


def run(path=TESTDATA / "stock_levels.csv", **options):
    return services.import_file(path, kind="stock", actor=ACTOR, **options)


def levels():
    return {
        (i.product.sku, i.location.code): i.on_hand for i in StockItem.objects.select_related("product", "location")
    }


def test_levels_become_opening_and_count_movements_and_bad_rows_are_named(teas, store, tmp_path):
    result = run(report_path=tmp_path / "report.csv")
    assert (result.created, result.updated, result.unchanged) == (2, 1, 0)
    assert {(e.line, e.field, e.code) for e in result.first_errors} == {
        (4, "sku", "duplicate_key"),
        (5, "sku", "not_found"),
        (6, "location", "not_found"),
        (7, "on_hand", "invalid"),
        (7, "lead_time_days", "invalid"),
        (8, "on_hand", "required"),
        (9, "unit_cost", "invalid"),
    }
    assert levels() == {("TEA-1", "warehouse"): 40, ("TEA-2", "sh-01"): 5, ("TEA-3", "warehouse"): 7}
    # a store's code names its location (made on first use)
    assert Location.objects.get(code="sh-01").store == store
    moves = set(StockMovement.objects.values_list("item__product__sku", "kind", "quantity"))
    assert moves == {
        ("TEA-1", "opening", 40),
        ("TEA-2", "opening", 5),
        ("TEA-3", "receipt", 10),
        ("TEA-3", "adjustment", -2),
        ("TEA-3", "count", -1),  # counted 7 where 8 were on hand: the difference
    }
    tea1 = StockItem.objects.get(product__sku="TEA-1")
    assert (tea1.lead_time_days, tea1.reorder_quantity, tea1.unit_cost) == (10, 20, Decimal("35.50"))
    assert StockItem.objects.get(product__sku="TEA-3").lead_time_days == 3
    assert stock.ledger_drift() == []


def test_the_same_file_twice_changes_nothing(teas, store):
    run()
    before = StockMovement.objects.count()
    again = run()
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 6)
    assert StockMovement.objects.count() == before
    assert stock.ledger_drift() == []


def test_a_later_count_writes_the_difference_from_what_was_sold_since(teas, store, make_customer, tmp_path):
    run()
    customer = make_customer()
    commerce.upsert_order(  # a live order takes 3 from the store
        data={
            "channel": "web",
            "external_id": "o-1",
            "customer_id": customer.pk,
            "store": store.code,
            "status": "paid",
            "placed_at": "2026-11-11T10:00:00+08:00",
            "lines": [{"sku": "TEA-2", "quantity": 3, "unit_price": "88"}],
        },
        actor=ACTOR,
    )
    assert levels()[("TEA-2", "sh-01")] == 2
    counted = tmp_path / "count.csv"
    counted.write_text("sku,location,on_hand\nTEA-2,sh-01,4\n", encoding="utf-8")
    result = run(counted)
    assert (result.updated, result.rejected) == (1, 0)
    assert levels()[("TEA-2", "sh-01")] == 4
    assert (
        StockMovement.objects.filter(kind="count").values_list("quantity", flat=True).get(item__product__sku="TEA-2")
        == 2
    )
    assert stock.ledger_drift() == []


def test_settings_alone_change_no_level(teas, tmp_path):
    path = tmp_path / "settings.csv"
    path.write_text("sku,lead_time_days,reorder_quantity\nTEA-3,21,50\n", encoding="utf-8")
    result = run(path)
    assert (result.updated, result.rejected) == (1, 0)
    item = StockItem.objects.get(product__sku="TEA-3")
    assert (item.on_hand, item.lead_time_days, item.reorder_quantity) == (8, 21, 50)
    assert StockMovement.objects.count() == 2


def test_a_count_raises_the_low_stock_warning_and_returns_waiting_subscriptions(teas, make_customer, tmp_path):
    item = StockItem.objects.get(product__sku="TEA-3")
    StockPlan.objects.create(item=item, reorder_point=5, computed_at=item.updated_at)
    path = tmp_path / "low.csv"
    path.write_text("sku,on_hand\nTEA-3,0\n", encoding="utf-8")
    run(path)
    assert LowStockAlert.objects.filter(item=item, closed_at=None).count() == 1
    waiting = stock.subscribe_back_in_stock(make_customer().pk, teas[3], source="portal")
    path.write_text("sku,on_hand\nTEA-3,30\n", encoding="utf-8")
    run(path)
    waiting = StockSubscription.objects.get(pk=waiting.pk)
    assert waiting.returned_at is not None
    assert not LowStockAlert.objects.filter(item=item, closed_at=None).exists()


def test_a_dry_run_writes_nothing(teas, store):
    result = run(dry_run=True)
    assert result.created == 2
    assert StockMovement.objects.count() == 2 and StockItem.objects.count() == 1


def test_stock_is_history_only_and_the_command_line_runs_it(teas, store, capsys):
    with pytest.raises(UnusableFile):
        run(mode="live")
    call_command("import", "stock", str(TESTDATA / "stock_levels.csv"), "--no-progress")
    assert "2 stock created" in capsys.readouterr().out
    assert levels()[("TEA-1", "warehouse")] == 40


def test_history_orders_move_no_stock_but_live_orders_do(teas, store, make_customer, tmp_path):
    run()
    customer_services.upsert_customer(channel="import", external_id="c1", data={"name": "Buyer"}, actor=ACTOR)
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,store,status,placed_at,sku,quantity,unit_price\n"
        "h-1,c1,sh-01,paid,2026-01-05T10:00:00+08:00,TEA-2,2,88\n"
        "h-2,c1,,completed,2026-01-06T10:00:00+08:00,TEA-1,5,88\n",
        encoding="utf-8",
    )
    before = set(StockMovement.objects.values_list("pk", flat=True))
    history = services.import_file(orders, kind="orders", actor=ACTOR)
    assert (history.created, history.rejected) == (2, 0)
    assert set(StockMovement.objects.values_list("pk", flat=True)) == before
    assert levels()[("TEA-2", "sh-01")] == 5 and levels()[("TEA-1", "warehouse")] == 40
    orders.write_text(
        "order_id,customer_id,store,status,placed_at,sku,quantity,unit_price\n"
        "l-1,c1,sh-01,paid,2026-12-01T10:00:00+08:00,TEA-2,2,88\n",
        encoding="utf-8",
    )
    services.import_file(orders, kind="orders", actor=ACTOR, mode="live")
    assert levels()[("TEA-2", "sh-01")] == 3
    assert stock.ledger_drift() == []


@pytest.fixture
def jobs_inline(settings, tmp_path):
    settings.RAPPORT_JOBS_SYNC = True
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")


def test_the_api_starts_a_stock_job_and_lists_its_errors(
    jobs_inline, teas, admin_api, api_client_for, make_staff, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(client, **fields):
        data = {"kind": "stock", "file": SimpleUploadedFile("levels.csv", (TESTDATA / "stock_levels.csv").read_bytes())}
        data.update(fields)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/imports", data)

    assert post(admin_api, mode="live").status_code == 422
    assert post(api_client_for(make_staff("analyst"), ["imports", "inventory:read"])).status_code == 403
    response = post(admin_api)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    status = admin_api.get(f"/api/v1/imports/{job_id}").json()
    assert (status["kind"], status["status"], status["created"], status["updated"]) == ("stock", "succeeded", 2, 1)
    errors = admin_api.get(f"/api/v1/imports/{job_id}/errors").json()["items"]
    assert ("location", "not_found", 6) in {(e["field"], e["code"], e["line"]) for e in errors}
    assert stock.ledger_drift() == []
