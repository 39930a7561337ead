"""The report builder: definitions checked, one GROUP BY run, saved per owner, exported."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from rapport.analytics import reports
from rapport.analytics.models import SavedReport
from rapport.audit.models import AuditEntry
from rapport.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def test_revenue_and_orders_by_channel(shop: dict[str, Any]) -> None:
    result = reports.run({"dimensions": ["channel"], "measures": ["revenue", "orders", "average_order_value"]})
    rows = {row[0]: row[1:] for row in result.rows}
    assert rows["web"] == [Decimal("400.00"), 2, Decimal("200.00")]
    assert rows["store"] == [Decimal("200.00"), 2, Decimal("100.00")]
    assert [c["key"] for c in result.columns] == ["channel", "revenue", "orders", "average_order_value"]
    assert result.rows[0][0] == "web"  # sorted by the first measure, largest first


def test_product_level_report_counts_order_lines(shop: dict[str, Any]) -> None:
    result = reports.run({"dimensions": ["category"], "measures": ["units", "revenue", "customers"]})
    assert result.rows == [["Tea", 4, Decimal("600.00"), 2]]


def test_customer_filters_use_todays_metrics(shop: dict[str, Any]) -> None:
    result = reports.run(
        {"dimensions": ["lifecycle_stage"], "measures": ["customers"], "filters": {"lifecycle_stages": ["repeat"]}}
    )
    assert result.rows == [["Repeat", 1]]


def test_months_are_in_calendar_order_and_a_total_needs_no_dimension(shop: dict[str, Any]) -> None:
    by_month = reports.run({"dimensions": ["month"], "measures": ["orders"], "chart": "line"})
    months = [row[0] for row in by_month.rows]
    assert months == sorted(months)
    assert reports.run({"measures": ["revenue"]}).rows == [[Decimal("600.00")]]
    assert reports.chart(by_month).data[0].type == "scatter"


def test_row_limit_marks_the_result_truncated(shop: dict[str, Any]) -> None:
    result = reports.run({"dimensions": ["channel"], "measures": ["orders"], "limit": 1})
    assert len(result.rows) == 1 and result.truncated


@pytest.mark.parametrize(
    ("definition", "fields"),
    [
        ({"dimensions": ["colour"], "measures": ["orders"]}, ["dimensions.0"]),
        ({"dimensions": ["month"], "measures": []}, ["measures"]),
        ({"dimensions": ["category"], "measures": ["discount"]}, ["measures"]),
        ({"measures": ["orders"], "chart": "bar"}, ["chart"]),
        ({"measures": ["orders"], "limit": 0}, ["limit"]),
        ({"measures": ["orders"], "filters": {"rfm_segments": ["royals"]}}, ["filters.rfm_segments"]),
        ({"measures": ["orders"], "filters": {"start": "soon"}}, ["filters.start"]),
        ({"measures": ["orders"], "colour": "red"}, ["colour"]),
    ],
)
def test_bad_definitions_name_each_bad_part(db: Any, definition: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as error:
        reports.clean_definition(definition)
    assert [e.field for e in error.value.errors] == fields


def test_save_rename_and_delete_are_audited_and_names_are_unique_per_owner(
    shop: dict[str, Any], admin_user: Any, system_actor: Any
) -> None:
    definition = {"dimensions": ["month"], "measures": ["revenue"]}
    report = reports.save_report(owner=admin_user, name="Monthly revenue", definition=definition, actor=system_actor)
    assert report.definition["chart"] == "table"
    with pytest.raises(Conflict):
        reports.save_report(owner=admin_user, name="Monthly revenue", definition=definition, actor=system_actor)
    with pytest.raises(InvalidInput) as error:
        reports.save_report(owner=admin_user, name="", definition={"measures": ["x"]}, actor=system_actor)
    assert {e.field for e in error.value.errors} == {"name", "definition.measures.0"}
    reports.save_report(owner=admin_user, name="Revenue", definition=definition, actor=system_actor, report=report)
    reports.delete_report(report, actor=system_actor)
    assert not SavedReport.objects.exists()
    actions = list(AuditEntry.objects.filter(object_type__icontains="savedreport").values_list("action", flat=True))
    assert sorted(actions) == ["create", "delete", "update"]


def test_exports_hold_the_same_rows(shop: dict[str, Any]) -> None:
    result = reports.run({"dimensions": ["channel"], "measures": ["revenue", "orders"]})
    text = reports.to_csv(result).decode("utf-8-sig").splitlines()
    assert text[0] == "Order channel,Revenue,Orders"
    assert "web,400.00,2" in text
    sheet = load_workbook(io.BytesIO(reports.to_xlsx(result, title="By channel"))).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["Order channel", "Revenue", "Orders"]
    assert sheet.max_row == len(result.rows) + 1
