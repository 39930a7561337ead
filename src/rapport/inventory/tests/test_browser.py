"""The stock page: a storekeeper filters to what is sold out, opens an item, records goods
received and sees the ledger; the page fits a phone and exports the filtered rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.accounts import roles
from rapport.commerce import services as commerce
from rapport.inventory import services
from rapport.inventory.models import StockItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_sold_out_stock_receive_goods_and_export(page, sign_in, make_staff, system_actor):
    make_staff(roles.OPERATOR, username="keeper")
    warehouse = services.default_location()
    for sku, level in (("TEA-1", 0), ("TEA-2", 7)):
        product = commerce.upsert_product(data={"sku": sku, "name": f"Tea {sku}", "price": "10"}, actor=system_actor)[0]
        services.record_movement(product, warehouse, data={"kind": "count", "quantity": level}, actor=system_actor)
        services.set_item(product, warehouse, data={"reorder_quantity": 20}, actor=system_actor)

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("keeper")
    page.goto("/stock/")
    page.select_option("#f-status", "out_of_stock")
    page.click("#stock-filters button[type=submit]")
    page.wait_for_url("**status=out_of_stock**")
    rows = page.inner_text("#stock-table tbody")
    assert "TEA-1" in rows and "TEA-2" not in rows
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    with page.expect_download() as download:
        page.click("#stock-export")
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "TEA-1" in exported and "TEA-2" not in exported

    page.click("#stock-table >> text=TEA-1")
    page.select_option("#m-kind", "receipt")
    page.fill("#m-quantity", "24")
    page.fill("#m-note", "PO 1001")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("text=Stock movement recorded.")
    assert page.inner_text("#on-hand") == "24"
    assert "PO 1001" in page.inner_text("#ledger-table")
    assert StockItem.objects.get(product__sku="TEA-1").on_hand == 24
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.select_option("#m-kind", "adjustment")
    page.fill("#m-quantity", "0")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("[role=alert], .messages")
    assert StockItem.objects.get(product__sku="TEA-1").on_hand == 24
