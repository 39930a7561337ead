"""The staging table and its resolver: a 200 means staged; resolution is exactly once and in order.

The resolver handles every kind of message. On PostgreSQL a request stores plain events itself
(``test_inline.py``); these tests stage everything, as SQLite always does.
"""

from __future__ import annotations

import base64
import io
import json
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper

from rapport.customers.models import Customer
from rapport.events import inline, resolver, tasks
from rapport.events.models import Event, EventReceipt, ProcessingError, StagedMessage
from rapport.events.services import create_source
from rapport.events.tests.objects_case import assert_objects_as_given, send_messages_with_objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(system_actor):
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def staged_only(monkeypatch):
    """Requests stage all their messages but nothing wakes the resolver: the test resolves by hand."""
    monkeypatch.setattr(resolver, "wake", lambda: None)
    monkeypatch.setattr(inline, "resolves_inline", lambda message: False)


@pytest.fixture
def send(client, source):
    def post(body, path="/v1/batch"):
        auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
        response = client.post(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200, response.content
        return response.json()

    return post


def track(message_id, event="Product Viewed", **fields):
    return {"type": "track", "event": event, "messageId": message_id, "userId": "u1", **fields}


def test_a_200_means_staged_and_the_resolver_stores_the_events(send, staged_only):
    answer = send({"batch": [track("m1"), track("m2", properties={"sku": "TEA-1"})]})
    assert answer == {"success": True, "accepted": 2, "duplicates": 0}
    assert StagedMessage.objects.count() == 2 and not Event.objects.exists()
    assert resolver.resolve_pending() == 2
    assert not StagedMessage.objects.exists()
    assert Event.objects.get(message_id="m2").properties == {"sku": "TEA-1"}


def test_the_database_copies_each_messages_objects_as_the_request_gave_them(send, staged_only):
    """Objects go from the staged body into the event in SQL, never through Python."""
    send_messages_with_objects(send)
    assert resolver.resolve_pending() == 5
    assert_objects_as_given()


def test_staged_rows_of_the_previous_version_are_converted_by_the_migration():
    """Rows staged as one JSON text before the upgrade keep every field (migration 0004)."""
    migration = import_module("rapport.events.migrations.0004_staged_message_columns")
    old_text = {
        "type": "track",
        "message_id": "m-old",
        "name": "Product Viewed",
        "user_id": "u1",
        "anonymous_id": "",
        "previous_id": "",
        "properties": {"sku": "TEA-1"},
        "traits": {},
        "context": {"locale": "zh-CN"},
        "timestamp": "2026-11-30T08:00:00+00:00",
        "original_timestamp": "2026-11-30T07:59:59+00:00",
        "sent_at": None,
        "received_at": "2026-11-30T08:00:01+00:00",
        "raw_size": 120,
        "customer_id": None,
    }
    saved = []
    row = SimpleNamespace(message=json.dumps(old_text), save=lambda: saved.append(True))
    rows = SimpleNamespace(iterator=lambda chunk_size: iter([row]))
    historic = SimpleNamespace(get_model=lambda app, name: SimpleNamespace(objects=rows))
    migration.split_staged_messages(historic, None)
    assert saved and (row.type, row.message_id, row.name, row.user_id) == ("track", "m-old", "Product Viewed", "u1")
    assert row.timestamp.isoformat() == "2026-11-30T08:00:00+00:00" and row.sent_at is None
    assert json.loads(row.body) == {"properties": {"sku": "TEA-1"}, "traits": {}, "context": {"locale": "zh-CN"}}


def test_retries_staged_beside_the_original_are_stored_once(send, staged_only):
    send({"batch": [track("m1"), track("m2")]})
    send({"batch": [track("m2"), track("m1"), track("m3")]})  # the client's retry, plus one new message
    assert StagedMessage.objects.count() == 5
    assert resolver.resolve_pending() == 3
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m1", "m2", "m3"]
    send({"batch": [track("m1")]})  # a late retry, after resolution: its receipt drops it
    assert resolver.resolve_pending() == 0
    assert Event.objects.count() == 3 and EventReceipt.objects.count() == 3


def test_a_failed_resolution_rolls_back_its_claim_and_loses_nothing(send, staged_only, monkeypatch):
    send({"batch": [track(f"m{n}") for n in range(5)]})
    store = resolver._store

    def connection_lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(resolver, "_store", connection_lost)
    with pytest.raises(OperationalError):
        resolver.resolve_pending()
    assert StagedMessage.objects.count() == 5
    assert not Event.objects.exists() and not EventReceipt.objects.exists()
    monkeypatch.setattr(resolver, "_store", store)
    assert resolver.resolve_pending() == 5
    assert Event.objects.count() == 5 and not StagedMessage.objects.exists()


def test_chunks_are_resolved_in_the_order_the_messages_were_staged(send, staged_only):
    send({"userId": "u1", "messageId": "i1", "traits": {"name": "First Name"}}, path="/v1/identify")
    send({"userId": "u1", "messageId": "i2", "traits": {"name": "Second Name"}}, path="/v1/identify")
    send({"batch": [track("t1")]})
    assert resolver.resolve_pending(limit=1) == 3
    customer = Customer.objects.get()
    assert customer.name == "Second Name"
    assert Event.objects.get(message_id="t1").customer_id == customer.pk


def test_a_message_that_cannot_be_resolved_is_set_aside_and_the_others_are_stored(send, staged_only, monkeypatch):
    apply_commerce = resolver._apply_commerce

    def fail_on_boom(source, messages):
        if any(m.name == "Boom" for m in messages):
            raise ValueError("unexpected data")
        apply_commerce(source, messages)

    monkeypatch.setattr(resolver, "_apply_commerce", fail_on_boom)
    send({"batch": [track("ok-1"), track("bad", event="Boom"), track("ok-2")]})
    assert resolver.resolve_pending() == 2
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["ok-1", "ok-2"]
    error = ProcessingError.objects.get()
    assert error.message_id == "bad" and "could not be resolved: unexpected data" in error.message
    assert not StagedMessage.objects.exists()


def test_the_management_command_resolves_what_is_staged(send, staged_only):
    send({"batch": [track("m1"), track("m2")]})
    out = io.StringIO()
    call_command("events_resolve", stdout=out)
    assert out.getvalue().strip() == "events stored: 2"
    assert Event.objects.count() == 2 and not StagedMessage.objects.exists()


def test_staged_messages_of_two_sources_resolve_on_their_own_sources(client, source, system_actor, staged_only):
    app = create_source(data={"name": "App", "identity_channel": "web"}, actor=system_actor)
    for key, message_id in ((source.write_key, "web-1"), (app.write_key, "app-1"), (source.write_key, "same-id")):
        body = {"batch": [track(message_id)]}
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        client.post("/v1/batch", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    body = {"batch": [track("same-id")]}  # the same message id from another source is another message
    auth = "Basic " + base64.b64encode(f"{app.write_key}:".encode()).decode()
    client.post("/v1/batch", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert resolver.resolve_pending() == 4
    assert set(Event.objects.filter(source=app).values_list("message_id", flat=True)) == {"app-1", "same-id"}
    assert set(Event.objects.filter(source=source).values_list("message_id", flat=True)) == {"web-1", "same-id"}


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_resolver_vacuums_the_staging_table_after_enough_rows(send, staged_only, monkeypatch):
    monkeypatch.setattr(resolver, "VACUUM_EVERY", 3)
    monkeypatch.setattr(resolver, "_claimed_since_vacuum", 0)
    vacuumed = []
    execute = CursorWrapper.execute

    def watch(self, sql, params=None):
        if sql.startswith("VACUUM"):
            vacuumed.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", watch)
    send({"batch": [track("m1"), track("m2")]})
    resolver.resolve_pending()
    assert not vacuumed
    send({"batch": [track("m3")]})
    resolver.resolve_pending()
    assert vacuumed == ['VACUUM "events_stagedmessage"'] and Event.objects.count() == 3


def test_with_a_broker_commits_wake_at_most_one_task_a_second_and_none_is_missed(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.resolve_events, "apply_async", lambda **options: sent.append(options))
    wake_ups = resolver._CeleryWakeUps()
    wake_ups.wake(100.0)  # a task now
    wake_ups.wake(100.3)  # the first one may have finished already: one more, when the second is over
    wake_ups.wake(100.5)  # that one starts after this commit: nothing to send
    wake_ups.wake(101.2)  # after it started: another, a second after it
    wake_ups.wake(103.0)  # long after: at once
    assert sent == [{}, {"countdown": pytest.approx(0.7)}, {"countdown": pytest.approx(0.8)}, {}]
