"""The home dashboard after sign-in: each role sees the panels it may (KPIs with month-on-month
and year-on-year change, running plans, SLA breaches, expiring points), and nothing else."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.analytics.home import change, shifted
from rapport.campaigns.models import Plan
from rapport.loyalty.models import Account, Entry, Lot
from rapport.service.models import Ticket
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def test_the_same_day_a_month_or_a_year_before_keeps_to_the_months_end():
    assert shifted(dt.date(2026, 3, 31), months=1) == dt.date(2026, 2, 28)
    assert shifted(dt.date(2026, 1, 15), months=1) == dt.date(2025, 12, 15)
    assert shifted(dt.date(2028, 2, 29), years=1) == dt.date(2027, 2, 28)
    assert change(Decimal("150"), Decimal("100")) == 50.0 and change(5, 0) is None and change(50, 100) == -50.0


def test_signing_in_lands_on_the_home_dashboard(client, make_staff):
    make_staff(roles.OPERATOR, username="home-op")
    response = client.post("/login/", {"username": "home-op", "password": STAFF_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert 'id="home-kpis"' in response.content.decode()


def test_an_operator_sees_kpis_plans_and_expiring_points(client, make_staff, make_customer):
    customer = make_customer(name="Buyer")
    now = timezone.now()
    Plan.objects.create(name="Spring sale", status=Plan.Status.RUNNING, launched_at=now)
    account = Account.objects.create(customer=customer, asset="points", balance=Decimal("300"))
    entry = Entry.objects.create(
        account=account, kind="earn", amount=Decimal("300"), balance_after=Decimal("300"), occurred_at=now
    )
    Lot.objects.create(
        account=account,
        entry=entry,
        earned_at=now,
        expires_at=now + dt.timedelta(days=5),
        amount=Decimal("300"),
        remaining=Decimal("300"),
    )
    client.force_login(make_staff(roles.OPERATOR))
    page = client.get("/").content.decode()
    assert 'id="home-kpis"' in page and 'data-measure="revenue"' in page and "vs last year" in page
    assert 'id="home-plans"' in page and "Spring sale" in page
    assert 'id="home-expiring_points"' in page and ">300<" in page
    assert 'id="home-sla"' not in page


def test_a_service_agent_sees_sla_breaches_not_sales(client, make_staff, make_customer):
    agent = make_staff(roles.SERVICE_AGENT)
    customer = make_customer(name="Waiting")
    now = timezone.now()
    Ticket.objects.create(
        customer=customer,
        subject="Where is my parcel",
        status="open",
        resolution_breached=True,
        created_at=now,
        updated_at=now,
    )
    client.force_login(agent)
    page = client.get("/").content.decode()
    assert 'id="home-sla"' in page and "Where is my parcel" in page and 'id="sla-breached">1<' in page
    assert 'id="home-kpis"' not in page and 'id="home-plans"' not in page


def test_the_report_builder_compares_periods_and_puts_a_measure_on_a_second_axis(make_customer, store):
    """Several measures, one on the right-hand axis, each beside the same months a year before."""
    from rapport.analytics import reports
    from rapport.commerce.models import Order

    customer = make_customer(name="Repeat")
    for n, placed in enumerate(("2026-03-10", "2025-03-12", "2025-03-20")):
        moment = dt.datetime.fromisoformat(placed).replace(hour=4, tzinfo=dt.UTC)
        Order.objects.create(
            customer=customer,
            store=store,
            channel="web",
            external_id=f"cmp-{n}",
            status="paid",
            subtotal=Decimal("100"),
            discount_total=Decimal("0"),
            total=Decimal("100"),
            placed_at=moment,
        )
    definition = {
        "dimensions": ["month"],
        "measures": ["orders", "revenue"],
        "secondary": ["revenue"],
        "compare": "previous_year",
        "filters": {"start": "2026-03-01", "end": "2026-03-31"},
        "chart": "line",
    }
    result = reports.run(definition)
    assert [c["key"] for c in result.columns] == ["month", "orders", "revenue", "orders__compare", "revenue__compare"]
    assert result.rows[0][1] == 1 and result.rows[0][3] == 2
    figure = reports.chart(result).to_plotly_json()
    assert [t.get("yaxis") for t in figure["data"]] == [None, None, "y2", "y2"]
    assert figure["layout"]["yaxis2"]["side"] == "right" and figure["data"][1]["line"]["dash"] == "dot"
