"""Personal values in event properties and traits are stored sealed, and still work where needed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from rapport.core import pii
from rapport.customers.models import Customer
from rapport.events import personal
from rapport.events.models import Event, Source, StagedMessage
from rapport.events.segment_conditions import _property_matches, _property_q
from rapport.events.services import create_source

pytestmark = pytest.mark.django_db
EMAIL, PHONE, ID_CARD = "wang.fang@example.com", "+86 131 0635 0292", "11010519491231002X"


@pytest.fixture
def source(system_actor: Any) -> Source:
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def send(client: Client, source: Source) -> Any:
    def post(path: str, body: dict[str, Any]) -> Any:
        auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
        return client.post(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)

    return post


def _all_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def test_identify_traits_and_track_properties_are_stored_sealed_and_fill_the_profile(send: Any) -> None:
    traits = {
        "name": "Wang Fang",
        "email": EMAIL,
        "phone": PHONE,
        "address": {"city": "Hangzhou", "line1": "1 Lake Rd"},
    }
    assert send("/v1/identify", {"userId": "u-9", "messageId": "i1", "traits": traits}).status_code == 200
    properties = {"sku": "TEA-1", "email": EMAIL, "id_number": ID_CARD}
    track = {"userId": "u-9", "event": "Form Sent", "messageId": "t1", "properties": properties}
    assert send("/v1/track", track).status_code == 200

    customer = Customer.objects.get(name="Wang Fang")
    assert (customer.email, customer.phone) == (EMAIL, "+8613106350292")  # through the PII module
    stored = Event.objects.get(message_id="t1")
    assert stored.properties["sku"] == "TEA-1" and pii.is_sealed(stored.properties["email"])
    assert stored.properties["email"][pii.SEALED_INDEX] == customer.email_index  # the customer's own index
    for table in (Event._meta.db_table, StagedMessage._meta.db_table):
        text = _all_text(table)
        assert EMAIL not in text and "0635" not in text and ID_CARD not in text and "Lake Rd" not in text
    assert personal.unseal_object(stored.properties) == properties


def test_pages_and_the_api_show_them_masked_and_filter_them_by_blind_index(
    send: Any, admin_api: Client, system_actor: Any
) -> None:
    send("/v1/track", {"userId": "u-1", "event": "Signed Up", "messageId": "t2", "properties": {"email": EMAIL}})
    event = Event.objects.get(message_id="t2")
    assert event.shown_properties == {"email": "w***@example.com"}
    found = admin_api.get("/api/v1/events", {"property": "email", "value": "wang.fang@EXAMPLE.com"}).json()
    assert [e["message_id"] for e in found["results"]] == ["t2"]
    assert found["results"][0]["properties"] == {"email": "w***@example.com"}
    assert admin_api.get("/api/v1/events", {"property": "email", "value": "other@example.com"}).json()["count"] == 0
    assert admin_api.get("/api/v1/events", {"property": "email", "value": "not an email"}).json()["count"] == 0

    same = {"property": "email", "op": "eq", "value": EMAIL}
    assert Event.objects.filter(_property_q(same)).count() == 1
    assert Event.objects.filter(_property_q({**same, "op": "neq"})).count() == 0
    assert Event.objects.filter(_property_q({**same, "op": "contains"})).count() == 0  # equality only
    assert _property_matches(event.properties, same) and not _property_matches(event.properties, {**same, "op": "neq"})


def test_a_message_without_personal_keys_is_stored_as_received() -> None:
    raw = {"type": "track", "event": "Viewed", "properties": {"sku": "A", "emailed": True}}
    encoded = json.dumps(raw).encode()
    assert personal.seal_body(raw, encoded) is encoded
    copied = {"type": "track", "context": {"traits": {"phone": "13106350292"}}}
    sealed = json.loads(personal.seal_body(copied, json.dumps(copied).encode()))
    assert pii.is_sealed(sealed["context"]["traits"]["phone"])


def test_values_of_a_known_customers_events_are_sealed_with_their_own_key_and_shredded_with_it(
    send: Any, admin_api: Client
) -> None:
    """Crypto-shredding: a known customer's personal event values are sealed with the customer's
    key (blind index unchanged); anonymous events keep the key ring's seal (erasure blanks them)."""
    from rapport.core import shredding

    send("/v1/identify", {"userId": "u-7", "messageId": "i7", "traits": {"name": "Li Lei", "email": EMAIL}})
    track = {"userId": "u-7", "event": "Form Sent", "messageId": "t7", "properties": {"phone": PHONE}}
    send("/v1/track", track)
    send("/v1/track", {"anonymousId": "d-1", "event": "Form Sent", "messageId": "t8", "properties": {"phone": PHONE}})
    customer = Customer.objects.get(name="Li Lei")

    identify, known, anonymous = (Event.objects.get(message_id=m) for m in ("i7", "t7", "t8"))
    assert identify.traits["email"][pii.SEALED].startswith(f"{shredding.PREFIX_FAST}{customer.pk}:")
    assert known.properties["phone"][pii.SEALED].startswith(f"{shredding.PREFIX_FAST}{customer.pk}:")
    assert not shredding.is_sealed(anonymous.properties["phone"][pii.SEALED])
    assert known.properties["phone"][pii.SEALED_INDEX] == anonymous.properties["phone"][pii.SEALED_INDEX]
    assert personal.unseal_object(known.properties) == {"phone": PHONE}
    shown = known.shown_properties["phone"]
    assert shown.endswith("0292") and "0635" not in shown  # masked on pages, as before
    found = admin_api.get("/api/v1/events", {"property": "phone", "value": "13106350292"}).json()
    assert sorted(e["message_id"] for e in found["results"]) == ["t7", "t8"]  # equality filters still work

    shredding.shred([customer.pk])
    assert personal.unseal_object(Event.objects.get(message_id="t7").properties) == {"phone": None}
    assert personal.unseal_object(Event.objects.get(message_id="t8").properties) == {"phone": PHONE}


def test_nested_and_shop_named_personal_values_are_sealed_at_any_depth(send: Any, admin_api: Client) -> None:
    """``properties.shipping.phone``, lists of objects, a shop's own names (``buyerEmail``) and an
    email under any name: sealed like top-level ones, with their blind index, read back as sent."""
    properties = {
        "sku": "TEA-1",
        "shipping": {"phone": PHONE, "city": "Hangzhou", "address": {"line1": "1 Lake Rd"}},
        "recipients": [{"name": "Li", "email": EMAIL}, {"name": "Wu", "mobile": "13800138000"}],
        "buyerEmail": "li.lei@example.com",
        "contact": "wu.min@example.com",
        "is_mobile": True,
        "order_id": "13912345678",  # digits under a name that says nothing personal stay as sent
    }
    track = {"userId": "u-3", "event": "Order Placed", "messageId": "n1", "properties": properties}
    assert send("/v1/track", track).status_code == 200

    stored = Event.objects.get(message_id="n1").properties
    assert pii.is_sealed(stored["shipping"]["phone"]) and stored["shipping"]["city"] == "Hangzhou"
    assert pii.is_sealed(stored["shipping"]["address"])
    assert pii.is_sealed(stored["recipients"][0]["email"]) and stored["recipients"][0]["name"] == "Li"
    assert pii.is_sealed(stored["recipients"][1]["mobile"])
    assert pii.is_sealed(stored["buyerEmail"]) and pii.is_sealed(stored["contact"])
    assert stored["is_mobile"] is True and stored["order_id"] == "13912345678"
    assert stored["shipping"]["phone"][pii.SEALED_INDEX] == pii.search_index_for_phone(PHONE)
    assert stored["buyerEmail"][pii.SEALED_INDEX] == pii.search_index_for_email("li.lei@example.com")
    for table in (Event._meta.db_table, StagedMessage._meta.db_table):
        text = _all_text(table)
        for secret in ("0635", "Lake Rd", EMAIL, "13800138000", "li.lei@", "wu.min@"):
            assert secret not in text, (table, secret)
    assert personal.unseal_object(stored) == properties

    shown = Event.objects.get(message_id="n1").shown_properties
    assert shown["recipients"][0]["email"] == "w***@example.com" and shown["contact"] == "w***@example.com"
    assert "0635" not in shown["shipping"]["phone"] and shown["shipping"]["phone"].endswith("0292")
    # equality through the blind index, at a dotted path in the API and by a shop's name in segments
    found = admin_api.get("/api/v1/events", {"property": "shipping.phone", "value": "13106350292"}).json()
    assert [e["message_id"] for e in found["results"]] == ["n1"]
    same = {"property": "buyerEmail", "op": "eq", "value": "Li.Lei@example.com"}
    assert Event.objects.filter(_property_q(same)).count() == 1
    assert _property_matches(stored, same)


def test_nested_values_move_to_the_customer_key_and_are_shredded_with_it(send: Any) -> None:
    from rapport.core import shredding

    send("/v1/identify", {"userId": "u-4", "messageId": "i4", "traits": {"name": "Zhao Min"}})
    properties = {"shipping": {"phone": PHONE}, "items": [{"gift_email": EMAIL}]}
    send("/v1/track", {"userId": "u-4", "event": "Order Placed", "messageId": "n4", "properties": properties})
    customer = Customer.objects.get(name="Zhao Min")
    stored = Event.objects.get(message_id="n4").properties
    for sealed in (stored["shipping"]["phone"], stored["items"][0]["gift_email"]):
        assert sealed[pii.SEALED].startswith(f"{shredding.PREFIX_FAST}{customer.pk}:")
    assert personal.unseal_object(stored) == properties

    shredding.shred([customer.pk])
    assert personal.unseal_object(Event.objects.get(message_id="n4").properties) == {
        "shipping": {"phone": None},
        "items": [{"gift_email": None}],
    }


def test_the_key_words_are_found_in_a_shop_s_own_names() -> None:
    assert personal.kind_of("shipping_phone") == "phone" and personal.kind_of("contactMobile") == "phone"
    assert personal.kind_of("email_address") == "email" and personal.kind_of("billing-address") == "address"
    assert personal.kind_of("buyer_id_card") == "id_number" and personal.kind_of("idNumber") == "id_number"
    assert personal.kind_of("emailed") is None and personal.kind_of("phones_sold") is None
