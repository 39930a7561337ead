"""KPIs on the real database: definitions, date and store filters, cohorts, breakdowns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from rapport.analytics import kpis
from rapport.analytics.tests.conftest import NOW
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db
TODAY = NOW.astimezone(kpis.shop_zone()).date()


def _filters(**params: str) -> kpis.Filters:
    return kpis.Filters.parse(params, today=TODAY)


def test_headline_over_the_default_year(shop: dict[str, Any]) -> None:
    h = kpis.headline(_filters())
    assert h["active_customers"] == 2  # Cai's only order is 400 days old
    assert h["orders"] == 4
    assert h["revenue"] == Decimal("600.00")
    assert h["average_order_value"] == Decimal("150.00")
    assert h["arpu"] == Decimal("300.00")
    assert h["repurchase_rate"] == 0.5
    assert (h["new_customers"], h["returning_customers"]) == (2, 0)


def test_a_customer_whose_first_order_is_before_the_range_is_returning(shop: dict[str, Any]) -> None:
    start = (TODAY - dt.timedelta(days=30)).isoformat()
    h = kpis.headline(_filters(start=start))
    assert (h["active_customers"], h["new_customers"], h["returning_customers"]) == (1, 0, 1)


def test_store_filter_keeps_that_stores_orders(shop: dict[str, Any]) -> None:
    h = kpis.headline(_filters(store=shop["store"].code))
    assert (h["active_customers"], h["orders"], h["revenue"]) == (1, 3, Decimal("300.00"))


def test_monthly_rows_add_up_to_the_headline(shop: dict[str, Any]) -> None:
    rows = kpis.monthly(_filters())
    assert sum(r["orders"] for r in rows) == 4
    assert sum(r["revenue"] for r in rows) == Decimal("600.00")
    assert all(r["active"] == r["new"] + r["returning"] for r in rows)


def test_cohort_retention_starts_at_one_and_counts_later_months(shop: dict[str, Any]) -> None:
    cohorts = kpis.cohort_retention(_filters())
    assert all(row[0] == 1.0 for row in cohorts["retention"])
    amy_cohort = cohorts["cohorts"].index(f"{shop['amy'].stats.first_order_at.astimezone(kpis.shop_zone()):%Y-%m}")
    row = cohorts["retention"][amy_cohort]
    assert sum(1 for v in row if v) >= 2  # Amy came back in a later month


def test_breakdowns_by_channel_owner_and_category(shop: dict[str, Any]) -> None:
    filters = _filters()
    channels = {r["channel"]: r for r in kpis.by_channel(filters)}
    assert channels["web"]["revenue"] == Decimal("400.00")
    assert channels["web"]["share"] == pytest.approx(400 / 600, abs=1e-4)
    assert [r["owner"] for r in kpis.by_owner(filters)] == ["(no owner)"]
    assert kpis.by_category(filters)[0]["category"] == "Tea"
    assert kpis.top_products(filters)[0]["units"] == 4


def test_dashboard_has_every_part_with_amounts_to_the_cent(shop: dict[str, Any]) -> None:
    data = kpis.dashboard(_filters())
    assert set(data) >= {"headline", "monthly", "cohorts", "stores", "owners", "channels", "categories", "customer_mix"}
    stages = {r["key"]: r["customers"] for r in data["customer_mix"]["lifecycle"]}
    assert stages["repeat"] == 1 and stages["churned"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2025-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-05-02", "end": "2026-05-01"}, "start"),
        ({"start": "2010-01-01", "end": "2026-01-01"}, "end"),
        ({"store": "nowhere"}, "store"),
    ],
)
def test_bad_filters_name_the_field(db: Any, params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        kpis.Filters.parse(params, today=TODAY)
    assert [e.field for e in error.value.errors] == [field]
