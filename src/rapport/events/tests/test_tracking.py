"""The Segment-compatible tracking API through the Django test client."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json

import pytest

from rapport.commerce.models import Order, Refund
from rapport.customers.models import ChangeRecord, Customer, MergedCustomer
from rapport.events.models import AnonymousVisitor, Event, EventReceipt, ProcessingError, StagedMessage
from rapport.events.services import create_source, set_source_enabled

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(system_actor):
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def send(client, source):
    def post(path, body, *, key=None, compress=False, headers=None):
        raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
        extra = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key or source.write_key}:".encode()).decode()}
        if compress:
            raw = gzip.compress(raw)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        extra.update(headers or {})
        return client.post(path, raw, content_type="application/json", **extra)

    return post


def track(event, **fields):
    return {"type": "track", "event": event, "messageId": fields.pop("messageId", f"m-{event}-{id(fields)}"), **fields}


def test_track_is_stored_once_even_when_retried(send):
    body = {"userId": "u1", "event": "Product Viewed", "messageId": "abc-1", "properties": {"sku": "TEA-1"}}
    first = send("/v1/track", body)
    assert first.status_code == 200 and first.json()["accepted"] == 1
    # The retry is accepted into staging again; the resolver finds its receipt and drops it.
    retry = send("/v1/track", body)
    assert retry.status_code == 200 and retry.json() == {"success": True, "accepted": 1, "duplicates": 0}
    assert Event.objects.count() == 1 and EventReceipt.objects.count() == 1
    event = Event.objects.get()
    assert event.name == "Product Viewed" and event.properties == {"sku": "TEA-1"} and event.user_id == "u1"


def test_batch_gzip_and_duplicates_inside_one_batch(send):
    batch = [
        {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "p1"},
        {"type": "screen", "anonymousId": "a1", "name": "Cart", "messageId": "s1"},
        {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "p1"},
    ]
    response = send("/v1/batch", {"batch": batch}, compress=True)
    assert response.status_code == 200 and response.json() == {"success": True, "accepted": 2, "duplicates": 1}
    assert Event.objects.count() == 2 and EventReceipt.objects.count() == 2


def test_clock_skew_is_corrected(send):
    # The device's clock runs one hour fast: it says it sent at 11:00 something that happened at 10:59.
    body = {
        "userId": "u1",
        "event": "Clicked",
        "messageId": "skew-1",
        "timestamp": "2030-01-01T10:59:00Z",
        "sentAt": "2030-01-01T11:00:00Z",
    }
    send("/v1/track", body)
    event = Event.objects.get()
    assert abs((event.received_at - event.timestamp) - dt.timedelta(minutes=1)) < dt.timedelta(seconds=5)
    assert event.original_timestamp == dt.datetime(2030, 1, 1, 10, 59, tzinfo=dt.UTC)


def test_identify_creates_the_customer_and_stitches_anonymous_events(send):
    send("/v1/page", {"anonymousId": "anon-7", "name": "Landing", "messageId": "m1"})
    response = send(
        "/v1/identify",
        {
            "userId": "shop-42",
            "anonymousId": "anon-7",
            "messageId": "m2",
            "traits": {"firstName": "Fang", "lastName": "Wang", "email": "fang@example.com", "phone": "13912345678"},
        },
    )
    assert response.status_code == 200
    customer = Customer.objects.get()
    assert customer.name == "Fang Wang" and customer.phone == "+8613912345678"
    assert customer.identities.get().external_id == "shop-42"
    assert set(Event.objects.values_list("customer_id", flat=True)) == {customer.pk}
    assert AnonymousVisitor.objects.get(anonymous_id="anon-7").customer == customer
    send("/v1/identify", {"userId": "shop-42", "messageId": "m3", "traits": {"city": "苏州"}})
    change = ChangeRecord.objects.get(customer=customer, field="city")
    assert change.new_value == "苏州" and change.source == "tracking"


def test_track_before_identify_is_attached_when_the_user_is_known(send):
    send("/v1/track", {"userId": "late", "event": "Product Viewed", "messageId": "t1"})
    assert Event.objects.get().customer_id is None
    send("/v1/identify", {"userId": "late", "messageId": "i1", "traits": {"name": "Late Comer"}})
    assert Event.objects.get(message_id="t1").customer_id == Customer.objects.get().pk


def test_an_identify_repeating_the_profile_neither_locks_nor_rewrites_the_customer(send, monkeypatch):
    from rapport.customers import services as customer_services

    send("/v1/identify", {"userId": "same", "messageId": "i1", "traits": {"name": "Chen Yu", "city": "杭州"}})
    customer = Customer.objects.get()
    calls = []
    real_update = customer_services.update_customer
    monkeypatch.setattr(
        customer_services, "update_customer", lambda *a, **k: calls.append(k["data"]) or real_update(*a, **k)
    )
    # analytics.js identifies on every page with the same traits: nothing to lock or compare
    send("/v1/identify", {"userId": "same", "messageId": "i2", "traits": {"name": "Chen Yu", "city": "杭州"}})
    assert calls == []
    send("/v1/identify", {"userId": "same", "messageId": "i3", "traits": {"name": "Chen Yu", "city": "苏州"}})
    assert calls == [{"name": "Chen Yu", "city": "苏州"}]
    customer.refresh_from_db()
    assert customer.city == "苏州"
    assert list(ChangeRecord.objects.filter(customer=customer, field="city").values_list("new_value", flat=True)) == [
        "苏州"
    ]


def test_same_email_on_two_user_ids_merges_automatically(send, system_actor):
    send("/v1/identify", {"userId": "a", "messageId": "1", "traits": {"name": "Li Lei", "email": "li@example.com"}})
    send("/v1/identify", {"userId": "b", "messageId": "2", "traits": {"name": "Lei Li", "phone": "13800001111"}})
    send("/v1/track", {"userId": "b", "event": "Product Viewed", "messageId": "3"})
    first, second = Customer.objects.order_by("pk")
    send("/v1/identify", {"userId": "b", "messageId": "4", "traits": {"email": "li@example.com"}})
    assert list(Customer.objects.values_list("pk", flat=True)) == [first.pk]
    survivor = Customer.objects.get()
    assert {i.external_id for i in survivor.identities.all()} == {"a", "b"}
    assert survivor.phone == "+8613800001111" and survivor.email == "li@example.com"
    assert MergedCustomer.objects.get(merged_id=second.pk).survivor == survivor
    assert set(Event.objects.values_list("customer_id", flat=True)) == {survivor.pk}


def test_alias_of_two_known_users_merges_them(send):
    send("/v1/identify", {"userId": "old-id", "messageId": "1", "traits": {"name": "Zhou"}})
    send("/v1/identify", {"userId": "new-id", "messageId": "2", "traits": {"name": "Zhou Jie"}})
    send("/v1/alias", {"previousId": "old-id", "userId": "new-id", "messageId": "3"})
    assert Customer.objects.count() == 1
    assert {i.external_id for i in Customer.objects.get().identities.all()} == {"old-id", "new-id"}


def test_order_completed_and_refunded_become_commerce_records(send):
    send("/v1/identify", {"userId": "buyer", "messageId": "i", "traits": {"name": "Buyer"}})
    completed = {
        "userId": "buyer",
        "event": "Order Completed",
        "messageId": "o1",
        "timestamp": "2025-11-11T00:05:00+08:00",
        "properties": {
            "order_id": "W-1",
            "total": 259,
            "currency": "CNY",
            "products": [
                {"product_id": "TEA-1", "name": "Longjing", "price": 88, "quantity": 2},
                {"sku": "CUP-1", "name": "Cup", "price": 83},
            ],
        },
    }
    assert send("/v1/track", completed).status_code == 200
    order = Order.objects.get()
    assert order.customer == Customer.objects.get() and order.total == 259 and order.lines.count() == 2
    send(
        "/v1/track",
        {
            "userId": "buyer",
            "event": "Order Refunded",
            "messageId": "r1",
            "properties": {"order_id": "W-1", "total": 83},
        },
    )
    assert Refund.objects.get().amount == 83
    send(
        "/v1/track",
        {"userId": "buyer", "event": "Order Refunded", "messageId": "r2", "properties": {"order_id": "NOPE"}},
    )
    error = ProcessingError.objects.get()
    assert error.field == "properties.order_id" and Event.objects.filter(message_id="r2").exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        ({"event": "X", "messageId": "m"}, 400, "invalid_request"),
        ({"userId": "u", "event": "", "messageId": "m"}, 400, "invalid_request"),
        ({"userId": ["u"], "event": "X"}, 400, "invalid_request"),
        ({"userId": "u", "event": "X", "properties": "nope"}, 400, "invalid_request"),
        ({"userId": "u", "event": "X", "timestamp": "yesterday"}, 400, "invalid_request"),
        ({"userId": "u", "event": "X", "properties": {"blob": "x" * 33_000}}, 413, "too_large"),
        ({"userId": "u\u0000", "event": "X"}, 400, "invalid_request"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(send, body, status, code):
    response = send("/v1/track", body)
    assert response.status_code == status and response.json()["code"] == code
    assert not Event.objects.exists() and not EventReceipt.objects.exists() and not StagedMessage.objects.exists()


def test_batch_errors_name_the_message_and_store_nothing(send):
    response = send("/v1/batch", {"batch": [track("Ok", userId="u"), {"type": "shout", "userId": "u"}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "batch.1.type"
    assert not Event.objects.exists()
    huge = {"batch": [track("Big", userId="u", properties={"x": "y" * 30_000}) for _ in range(20)]}
    assert send("/v1/batch", huge).status_code == 413


def test_a_nul_character_anywhere_is_refused_naming_where(send):
    """Neither the database's JSON nor its text can hold a NUL: a 400 naming the field, not a 500."""
    ok = track("Ok", userId="u")
    for bad, field in (
        (track("X", userId="u", properties={"items": [{"note": "a\u0000b"}]}), "batch.1.properties.items.0.note"),
        (track("X", userId="u", context={"k\u0000": 1}), "batch.1.context.k\u0000"),
    ):
        response = send("/v1/batch", {"batch": [ok, bad]})
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    fine = track("Slash", userId="u", properties={"text": "a literal \\u0000 is fine"})
    assert send("/v1/batch", {"batch": [fine]}).status_code == 200
    assert list(Event.objects.values_list("name", flat=True)) == ["Slash"]


def test_unknown_or_disabled_write_keys_are_401(send, source, system_actor, client):
    assert send("/v1/track", track("X", userId="u"), key="wk_wrong").status_code == 401
    assert (
        client.post("/v1/track", json.dumps(track("X", userId="u")), content_type="application/json").status_code == 401
    )
    set_source_enabled(source, enabled=False, actor=system_actor)
    response = send("/v1/track", track("X", userId="u"))
    assert response.status_code == 401 and response.json()["code"] == "source_disabled"
    assert not Event.objects.exists()


def test_write_key_in_the_body_is_accepted(client, source):
    body = {"writeKey": source.write_key, "batch": [track("Body key", userId="u")]}
    assert client.post("/v1/batch", json.dumps(body), content_type="application/json").status_code == 200


def test_bad_gzip_is_400(send):
    response = send("/v1/track", b"not gzip at all", headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 400 and not Event.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"timestamp": "9999-12-30T00:00:00Z"},
        {"timestamp": "9999-12-30T00:00:00Z", "sentAt": "2026-01-01T00:00:00Z"},
        {"timestamp": "2026-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59-10:00"},
        {"timestamp": "3000-01-01T00:00:00Z"},
        {"originalTimestamp": "0001-01-01T00:00:00+14:00"},
        {"timestamp": "1969-12-31T23:59:59Z"},
    ],
)
def test_an_impossible_time_refuses_only_its_message(send, fields):
    field = "timestamp" if "timestamp" in fields else "originalTimestamp"
    if fields.get("sentAt", "").startswith("9999"):
        field = "sentAt"
    single = send("/v1/track", track("Bad", userId="u", **fields))
    assert single.status_code == 400
    assert single.json()["errors"][0] == {
        "field": field,
        "code": "out_of_range",
        "message": "a time between 1970-01-01 and 1 day after it is received (once clock skew is corrected)",
    }
    batch = send("/v1/batch", {"batch": [track("Good", userId="u"), track("Bad", userId="u", **fields)]})
    assert batch.status_code == 200
    assert batch.json()["accepted"] == 1 and batch.json()["rejected"][0]["field"] == f"batch.1.{field}"
    assert list(Event.objects.values_list("name", flat=True)) == ["Good"]


def test_a_batch_of_nothing_but_impossible_times_is_refused(send):
    response = send("/v1/batch", {"batch": [track("Bad", userId="u", timestamp="3000-01-01T00:00:00Z")]})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "batch.0.timestamp"
    assert not StagedMessage.objects.exists() and not Event.objects.exists()


def test_a_clock_slightly_ahead_is_stored_as_the_time_received(send):
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    assert send("/v1/track", track("Ahead", userId="u", timestamp=ahead)).status_code == 200
    assert Event.objects.get().timestamp <= dt.datetime.now(dt.UTC)
