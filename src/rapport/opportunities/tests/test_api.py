"""The opportunities API: status codes and bodies, bad input named by field with nothing changed,
scopes and the caller's data scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import OPPORTUNITIES_READ, OPPORTUNITIES_WRITE
from rapport.commerce.services import upsert_order
from rapport.core.actor import Actor
from rapport.opportunities.models import Opportunity, Pipeline, Stage
from rapport.opportunities.services import default_pipeline

pytestmark = pytest.mark.django_db
URL = "/api/v1/opportunities"


def stage_id(name: str) -> int:
    return default_pipeline().stages.get(name=name).pk


def fields(customer, **extra):
    return {
        "customer_id": customer.pk,
        "title": "企业礼品 200 份",
        "value": "36000.00",
        "currency": "CNY",
        "expected_close": "2026-12-28",
        **extra,
    }


def codes(response):
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


@pytest.fixture
def seller(make_staff):
    return make_staff(roles.SALES)


@pytest.fixture
def api(seller, api_client_for):
    return api_client_for(seller)


def test_create_move_note_get_and_list(api, seller, make_customer):
    customer = make_customer(owner=seller.pk)
    created = api.post(URL, fields(customer), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["stage"], body["probability"], body["owner"], body["value"]) == (
        "Qualified",
        10,
        seller.username,
        "36000.00",
    )
    moved = api.patch(f"{URL}/{body['id']}", {"stage": stage_id("Proposal")}, content_type="application/json")
    assert moved.status_code == 200 and moved.json()["probability"] == 40
    assert moved.json()["activities"][0]["text"] == "Qualified → Proposal"
    noted = api.post(
        f"{URL}/{body['id']}/activities", {"kind": "meeting", "text": "看样"}, content_type="application/json"
    )
    assert noted.status_code == 201 and noted.json()["activities"][0]["kind"] == "meeting"
    assert api.get(f"{URL}/{body['id']}").json()["stage"] == "Proposal"
    listing = api.get(URL, {"limit": 10})
    assert listing.status_code == 200 and listing.json()["count"] == 1
    forecast = api.get(f"{URL}/forecast").json()
    proposal = next(row for row in forecast["stages"] if row["stage_name"] == "Proposal")
    assert (proposal["count"], proposal["total"], proposal["weighted"]) == (1, "36000.00", "14400.00")


def test_won_needs_the_customer_order(api, seller, make_customer):
    customer = make_customer(owner=seller.pk)
    pk = api.post(URL, fields(customer), content_type="application/json").json()["id"]
    refused = api.patch(f"{URL}/{pk}", {"stage": stage_id("Won")}, content_type="application/json")
    assert refused.status_code == 422 and codes(refused) == {("order", "order_required")}
    order, _ = upsert_order(
        data={
            "channel": "web",
            "external_id": "gift-1",
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": timezone.now() - dt.timedelta(hours=1),
            "lines": [{"sku": "G", "name": "礼盒", "quantity": 200, "unit_price": "180.00"}],
        },
        actor=Actor.system("test"),
    )
    won = api.patch(f"{URL}/{pk}", {"stage": stage_id("Won"), "order_id": order.pk}, content_type="application/json")
    assert won.status_code == 200 and (won.json()["status"], won.json()["order_id"]) == ("won", order.pk)


def test_bad_input_names_the_field_and_changes_nothing(api, seller, make_customer):
    customer = make_customer(owner=seller.pk)
    negative = api.post(URL, fields(customer, value="-5"), content_type="application/json")
    assert negative.status_code == 422 and ("value", "out_of_range") in codes(negative)
    currency = api.post(URL, fields(customer, currency="RMBX"), content_type="application/json")
    assert currency.status_code == 422 and ("currency", "invalid") in codes(currency)
    assert Opportunity.objects.count() == 0
    pk = api.post(URL, fields(customer), content_type="application/json").json()["id"]
    other = Stage.objects.create(pipeline=Pipeline.objects.create(name="VIP"), name="Booked", probability=50)
    foreign = api.patch(f"{URL}/{pk}", {"stage": other.pk, "value": "1"}, content_type="application/json")
    assert foreign.status_code == 422 and codes(foreign) == {("stage", "wrong_pipeline")}
    assert str(Opportunity.objects.get(pk=pk).value) == "36000.00"
    unknown = api.post(URL, {**fields(customer), "colour": "red"}, content_type="application/json")
    assert unknown.status_code in (400, 422)
    assert api.get(f"{URL}/999999").status_code == 404


def test_scopes_and_data_scope(seller, make_staff, make_customer, api_client_for):
    customer = make_customer(owner=seller.pk)
    reader = api_client_for(seller, [OPPORTUNITIES_READ])
    assert reader.post(URL, fields(customer), content_type="application/json").status_code == 403
    writer = api_client_for(seller, [OPPORTUNITIES_WRITE])
    assert writer.get(URL).status_code == 403
    pk = writer.post(URL, fields(customer), content_type="application/json").json()["id"]
    stranger = api_client_for(make_staff(roles.SALES))
    assert stranger.get(f"{URL}/{pk}").status_code == 404
    assert stranger.post(URL, fields(customer), content_type="application/json").status_code == 404
    assert stranger.get(URL).json()["count"] == 0
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert analyst.get(URL).status_code == 403
