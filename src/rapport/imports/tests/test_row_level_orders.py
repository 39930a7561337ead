"""The row-level order path (``OrderRows.clean_cells``) agrees with the API's ``clean_order``.

Files are drawn with the common order columns in random order (sometimes missing one, sometimes
with a column the row-level path does not read), and rows of valid, invalid and odd cells
(blank, padded, too long, unknown buyers and SKUs, statuses in Chinese and English, order times
in the export's usual form, with an offset, impossible or in full-width digits). For each order
(its consecutive rows), what the row-level path returns must be exactly what ``clean_order``
returns for the same rows read by ``OrderRows.build``; where it is not sure it returns None and
the general path (tested against the same cleaner in ``commerce/tests``) takes the order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rapport.commerce.models import Product
from rapport.commerce.validation import BulkOrderCleaner, clean_order
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer, Identity
from rapport.imports import mapping as m
from rapport.imports.services import ROW_LEVEL_TARGETS, ImportCache, OrderRows

pytestmark = pytest.mark.django_db

CELLS: dict[str, st.SearchStrategy[str]] = {
    "external_id": st.sampled_from(["O-1", " O-2 ", "e" * 129, "O-3"]),
    "customer_external_id": st.sampled_from(["KNOWN", " KNOWN ", "NOBODY", "", " "]),
    "placed_at": st.sampled_from(
        [
            "2024-05-06 13:45:12",
            "2024-12-31 23:59:59",
            "2024-02-30 10:00:00",
            "2024-05-06 25:00:00",
            "２０２４-05-06 13:45:12",
            " 2024-05-06 13:45:12 ",
            "2024/5/6 13:45",
            "2024-05-06T13:45:12+08:00",
            "20240506",
            "yesterday",
            "",
        ]
    ),
    "status": st.sampled_from(["", "paid", "已付款", "交易成功", " shipped ", "PAID", "bogus", " "]),
    "sku": st.sampled_from(["KNOWN-1", " KNOWN-2 ", "NEW-1", "", "s" * 65]),
    "product_name": st.sampled_from(["", "商品", " Tea ", "n" * 250, " "]),
    "quantity": st.sampled_from(["", "1", " 2 ", "0", "-1", "100001", "1.5", "x"]),
    "unit_price": st.sampled_from(["", "9.50", " 12.3 ", "0", "-1", "1.555", "abc", "1e3"]),
    "discount_total": st.sampled_from(["", "0", "5.00", "99999", "x"]),
    "shipping_total": st.sampled_from(["", "0", "8.00", "-1"]),
    "total": st.sampled_from(["", "10.00", "1.555"]),
    "shipping_address": st.sampled_from(["", " 上海市浦东新区世纪大道1号 ", "y" * 501]),
    "carrier": st.sampled_from(["", "SF"]),
}
# rows an export sends, every cell valid, so that the row-level path itself is exercised
GOOD_CELLS: dict[str, st.SearchStrategy[str]] = {
    **CELLS,
    "external_id": st.just("O-1"),
    "customer_external_id": st.sampled_from(["KNOWN", ""]),
    "placed_at": st.sampled_from(["2024-05-06 13:45:12", "2023-01-01 00:00:00", "2024/5/6 13:45"]),
    "status": st.sampled_from(["", "paid", "已付款", "completed"]),
    "sku": st.sampled_from(["KNOWN-1", "KNOWN-2", "NEW-1"]),
    "product_name": st.sampled_from(["", "商品"]),
    "quantity": st.sampled_from(["", "1", "3"]),
    "unit_price": st.sampled_from(["", "9.50", "0"]),
    "discount_total": st.just(""),
    "total": st.sampled_from(["", "10.00"]),
    "shipping_address": st.sampled_from(["", "上海市浦东新区世纪大道1号"]),
}


@st.composite
def files(draw: st.DrawFn) -> tuple[m.ColumnPlan, list[list[str]]]:
    """A header (the row-level columns, shuffled, some left out, maybe one it does not read) and
    the rows of one order."""
    targets = draw(st.permutations(sorted(ROW_LEVEL_TARGETS | {"carrier"})))
    kept = [t for t in targets if draw(st.booleans()) or t in ("external_id", "placed_at", "sku")]
    if "carrier" in kept and draw(st.booleans()):
        kept.remove("carrier")
    cells = GOOD_CELLS if draw(st.booleans()) else CELLS
    plan = m.ColumnPlan("orders", header=list(kept), targets=dict(enumerate(kept)))
    rows = [[draw(cells[t]) for t in kept] for _ in range(draw(st.integers(1, 3)))]
    return plan, rows


@pytest.fixture
def shop() -> None:
    Product.objects.create(sku="KNOWN-1", name="Known tea", price=Decimal("12.50"))
    Product.objects.create(sku="KNOWN-2", name="Known cup", price=Decimal("3.00"))
    buyer = Customer.objects.create(name="Buyer", registered_at=timezone.now())
    Identity.objects.create(customer=buyer, channel="tmall", external_id="KNOWN")


def _api(rows: OrderRows, unit: list[tuple[int, list[str]]]) -> Any:
    try:
        return ("cleaned", clean_order(rows.build(unit), cache=ImportCache()))
    except InvalidInput as exc:
        return ("refused", [(e.field, e.code, e.message) for e in exc.errors])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(files(), min_size=1, max_size=4))
def test_the_row_level_path_agrees_with_the_api_cleaner(
    shop: None, orders: list[tuple[m.ColumnPlan, list[list[str]]]]
) -> None:
    cleaner = BulkOrderCleaner(ImportCache())  # reused across orders: what it remembers is tested too
    for plan, cells in orders:
        rows = OrderRows(plan, channel="tmall", time_zone="Asia/Shanghai")
        unit = [(line, row) for line, row in enumerate(cells, start=2)]
        rows.prepare([unit], cleaner.cache)  # type: ignore[arg-type]
        got = rows.clean_cells(unit, cleaner)
        event("row level" if got is not None else "general path")
        if got is not None:
            assert ("cleaned", got) == _api(rows, unit)


def test_an_export_with_the_common_columns_takes_the_row_level_path(shop: None) -> None:
    """The usual order rows are cleaned from their cells (else the import would not be faster),
    and a file with a column the path does not read takes the general one."""
    header = ["external_id", "customer_external_id", "placed_at", "status", "sku", "quantity", "unit_price"]
    plan = m.ColumnPlan("orders", header=header, targets=dict(enumerate(header)))
    rows = OrderRows(plan, channel="tmall", time_zone="Asia/Shanghai")
    unit = [
        (2, ["T-1", "KNOWN", "2024-05-06 13:45:12", "交易成功", "KNOWN-1", "2", ""]),
        (3, ["T-1", "KNOWN", "2024-05-06 13:45:12", "交易成功", "KNOWN-2", "1", "9.90"]),
    ]
    cleaner = BulkOrderCleaner(ImportCache())
    got = rows.clean_cells(unit, cleaner)
    assert got is not None
    assert got == clean_order(rows.build(unit), cache=ImportCache())
    assert got["placed_at"].isoformat() == "2024-05-06T05:45:12+00:00"
    assert got["total"] == Decimal("34.90")

    with_carrier = m.ColumnPlan("orders", header=[*header, "carrier"], targets=dict(enumerate([*header, "carrier"])))
    assert OrderRows(with_carrier, channel="tmall", time_zone="Asia/Shanghai").clean_cells(unit, cleaner) is None
