"""Every export the product offers, through its endpoints, writes formula-like text as text.

A customer or product named ``=1+2`` must reach the merchant's spreadsheet as the text typed, not
as a live formula: in CSV prefixed with an apostrophe, in xlsx as a string cell. One test per
endpoint (API and console, CSV and xlsx) so that a new export added without the shared writer
(``rapport.core.tabular``) shows up here when it is added to ``EXPORTS``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from rapport.analytics import reports
from rapport.commerce.services import upsert_order, upsert_product
from rapport.segments import services as segment_services
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

PAYLOADS = ["=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1)"]
CITY_RULE = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}
REPORT = {"dimensions": ["product"], "measures": ["revenue"]}


@pytest.fixture
def hostile_shop(make_customer: Any, system_actor: Any, admin_user: Any) -> dict[str, int]:
    """Customers and products named like formulas, one order each; a segment and a saved report."""
    for n, payload in enumerate(PAYLOADS):
        customer = make_customer(name=payload, city="上海")
        upsert_product(data={"sku": f"P-{n}", "name": payload, "price": "10"}, actor=system_actor)
        upsert_order(
            data={
                "channel": "web",
                "external_id": f"o{n}",
                "customer_id": customer.pk,
                "status": "completed",
                "placed_at": timezone.now(),
                "lines": [{"sku": f"P-{n}", "name": payload, "quantity": 1, "unit_price": "10"}],
            },
            actor=system_actor,
        )
    segment = segment_services.save_segment(data={"name": "hostile", "rule": CITY_RULE}, actor=system_actor)
    report = reports.save_report(owner=admin_user, name="By product", definition=REPORT, actor=system_actor)
    return {"segment": segment.pk, "report": report.pk}


def _console(admin_user: Any) -> Client:
    client = Client()
    assert client.login(username=admin_user.username, password=STAFF_PASSWORD)
    return client


def _segment_api(ids: dict[str, int], admin_api: Client, console: Client, fmt: str) -> Any:
    return admin_api.get(f"/api/v1/segments/{ids['segment']}/export", {"format": fmt})


def _segment_console(ids: dict[str, int], admin_api: Client, console: Client, fmt: str) -> Any:
    return console.get(f"/segments/{ids['segment']}/export/", {"format": fmt})


def _report_api(ids: dict[str, int], admin_api: Client, console: Client, fmt: str) -> Any:
    return admin_api.get(f"/api/v1/analytics/reports/{ids['report']}/export", {"format": fmt})


def _report_console(ids: dict[str, int], admin_api: Client, console: Client, fmt: str) -> Any:
    query = "dimensions=product&measures=revenue&chart=table"
    return console.get(f"/analytics/reports/?{query}&export={fmt}")


EXPORTS: dict[str, Callable[..., Any]] = {
    "segment members (API)": _segment_api,
    "segment members (console)": _segment_console,
    "saved report (API)": _report_api,
    "report builder (console)": _report_console,
}


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("endpoint", EXPORTS)
def test_csv_export_writes_formula_like_names_as_text(
    endpoint: str, hostile_shop: dict[str, int], admin_api: Client, admin_user: Any
) -> None:
    response = EXPORTS[endpoint](hostile_shop, admin_api, _console(admin_user), "csv")
    assert response.status_code == 200, response.content[:300]
    cells = {cell for row in csv.reader(io.StringIO(_body(response).decode("utf-8-sig"))) for cell in row}
    for payload in PAYLOADS:
        assert "'" + payload in cells
        assert payload not in cells


@pytest.mark.parametrize("endpoint", EXPORTS)
def test_xlsx_export_writes_formula_like_names_as_string_cells(
    endpoint: str, hostile_shop: dict[str, int], admin_api: Client, admin_user: Any
) -> None:
    response = EXPORTS[endpoint](hostile_shop, admin_api, _console(admin_user), "xlsx")
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(_body(response))).worksheets[0]
    cells = {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row}
    for payload in PAYLOADS:
        assert cells.get(payload) == "s", f"{payload!r} is not a text cell in {endpoint}"
