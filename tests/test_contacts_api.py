"""``/api/v1/contacts`` for a WeCom sidebar or a phone app: scopes first, bad input answers 422
naming the field, consent refuses a marketing call, the card says when the customer was last
contacted and what is closed to marketing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import CONTACTS_READ, CONTACTS_WRITE, TASKS_READ
from rapport.clienteling.models import Contact
from rapport.customers import consent

pytestmark = pytest.mark.django_db


def _post(client: Any, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/contacts", body, content_type="application/json")


@pytest.fixture
def seller(make_staff: Any, store: Any) -> Any:
    return make_staff(roles.SALES, store=store)


def test_record_list_and_read_the_card(seller, make_customer, api_client_for, system_actor):
    customer = make_customer(owner=seller.pk)
    consent.set_consent(customer, channel="call", purpose="marketing", granted=False, actor=system_actor)
    client = api_client_for(seller, [CONTACTS_READ, CONTACTS_WRITE])
    created = _post(client, {"customer_id": customer.pk, "kind": "call", "note": "确认到店时间"})
    assert created.status_code == 201, created.content
    assert created.json()["purpose"] == "service" and created.json()["store"] is not None
    listed = client.get(f"/api/v1/contacts?customer_id={customer.pk}").json()
    assert listed["count"] == 1 and listed["results"][0]["note"] == "确认到店时间"
    card = client.get(f"/api/v1/contacts/card?customer_id={customer.pk}").json()
    assert card["last_contacted_at"] == created.json()["occurred_at"]
    assert card["marketing_refused"] == ["call", "message"]  # marketing needs an opt-in; none on WeChat


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fax"}, "body.kind"),
        ({"kind": "call", "purpose": "sales"}, "body.purpose"),
        ({"kind": "call", "note": "x" * 2001}, "body.note"),
        ({"kind": "call", "occurred_at": "not a time"}, "body.occurred_at"),
        ({"kind": "call", "extra": 1}, "body.extra"),
        ({"kind": "call", "purpose": "marketing"}, "purpose"),  # no consent to marketing calls
    ],
)
def test_bad_input_names_the_field_and_records_nothing(seller, make_customer, api_client_for, body, field):
    customer = make_customer(owner=seller.pk)
    client = api_client_for(seller, [CONTACTS_WRITE])
    response = _post(client, {"customer_id": customer.pk, **body})
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Contact.objects.exists()


def test_a_contact_in_the_future_is_refused(seller, make_customer, api_client_for):
    customer = make_customer(owner=seller.pk)
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = _post(
        api_client_for(seller, [CONTACTS_WRITE]), {"customer_id": customer.pk, "kind": "visit", "occurred_at": later}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "out_of_range"


def test_scopes_and_visibility(seller, make_customer, make_staff, api_client_for):
    customer = make_customer(owner=seller.pk)
    tasks_only = api_client_for(seller, [TASKS_READ])
    assert _post(tasks_only, {"customer_id": customer.pk, "kind": "call"}).status_code == 403
    assert tasks_only.get(f"/api/v1/contacts?customer_id={customer.pk}").status_code == 403
    stranger = api_client_for(make_staff(roles.SALES), [CONTACTS_READ, CONTACTS_WRITE])
    assert _post(stranger, {"customer_id": customer.pk, "kind": "call"}).status_code == 404
    assert stranger.get(f"/api/v1/contacts/card?customer_id={customer.pk}").status_code == 404
