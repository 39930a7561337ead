"""Plain events stored by the request itself (PostgreSQL): one statement, no staging, no resolver.

Track, page, screen and group calls are written to ``events_event`` inside the request's
transaction, each on the customer the identity graph names right then; identify, alias and
order events in the same request are staged for the resolver. SQLite stages everything
(``test_resolver.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client

from rapport.commerce.models import Order
from rapport.customers.models import Customer, Identity
from rapport.events import resolver
from rapport.events.models import AnonymousVisitor, Event, EventReceipt, StagedMessage
from rapport.events.services import create_source
from rapport.events.signals import events_recorded
from rapport.events.tests.objects_case import assert_objects_as_given, send_messages_with_objects
from rapport.loyalty.models import Account, Asset, EarnRule, EarnRuleKind

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="requests store plain events themselves on PostgreSQL only"
    ),
    pytest.mark.django_db,
]

IDENTITY_GRAPH_LOCK = "SELECT pg_advisory_xact_lock{}(hashtext('rapport-identity-graph'))"


@pytest.fixture
def source(system_actor):
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def woken(monkeypatch):
    """Wake-ups are counted, never run: whatever a request staged stays staged until the test resolves it."""
    calls = []
    monkeypatch.setattr(resolver, "wake", lambda: calls.append(True))
    return calls


def post(client, source, body):
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
    return client.post("/v1/batch", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)


@pytest.fixture
def send(client, source):
    def sent(body):
        response = post(client, source, body)
        assert response.status_code == 200, response.content
        return response.json()

    return sent


@pytest.fixture
def known_as(make_customer, source):
    """A customer the source's identity channel knows by this user id."""

    def make(user_id, **data):
        customer = make_customer(**data)
        Identity.objects.create(customer=customer, channel=source.identity_channel, external_id=user_id)
        return customer

    return make


def stitched(anonymous_id, customer):
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return AnonymousVisitor.objects.create(
        anonymous_id=anonymous_id, customer=customer, first_seen_at=at, last_seen_at=at
    )


def track(message_id, event="Product Viewed", **fields):
    return {"type": "track", "event": event, "messageId": message_id, **fields}


def page(message_id, **fields):
    return {"type": "page", "name": "Home", "messageId": message_id, **fields}


def customers():
    return dict(Event.objects.values_list("message_id", "customer_id"))


def test_a_batch_of_plain_calls_is_stored_by_the_request_itself(send, woken):
    answer = send(
        {
            "batch": [
                track("t1", userId="u1", properties={"sku": "TEA-1"}),
                page("p1", anonymousId="a1"),
                {"type": "screen", "name": "Cart", "anonymousId": "a1", "messageId": "s1"},
                {"type": "group", "groupId": "acme", "userId": "u1", "messageId": "g1"},
            ]
        }
    )
    assert answer == {"success": True, "accepted": 4, "duplicates": 0}
    assert not StagedMessage.objects.exists() and not woken
    stored = {e.message_id: e for e in Event.objects.all()}
    assert {m: (e.type, e.name) for m, e in stored.items()} == {
        "t1": ("track", "Product Viewed"),
        "p1": ("page", "Home"),
        "s1": ("screen", "Cart"),
        "g1": ("group", "acme"),
    }
    assert stored["t1"].properties == {"sku": "TEA-1"} and stored["t1"].user_id == "u1"
    assert stored["p1"].anonymous_id == "a1" and stored["p1"].source_id == stored["g1"].source_id
    assert EventReceipt.objects.count() == 4


def test_each_event_is_stored_on_the_customer_the_identity_graph_names(send, woken, known_as, make_customer):
    """The user id's identity on the source's channel, else the device's visitor, else no one (for now)."""
    shopper = known_as("known-user")
    browser = make_customer()
    stitched("known-device", browser)
    app_user = make_customer()
    Identity.objects.create(customer=app_user, channel="app", external_id="app-user")
    send(
        {
            "batch": [
                track("by-user", userId="known-user"),
                page("by-device", anonymousId="known-device"),
                track("unknown-user", userId="nobody"),
                page("unknown-device", anonymousId="new-device"),
                track("user-wins", userId="known-user", anonymousId="known-device"),
                track("device-stands-in", userId="nobody", anonymousId="known-device"),
                track("other-channel", userId="app-user"),
            ]
        }
    )
    assert customers() == {
        "by-user": shopper.pk,
        "by-device": browser.pk,
        "unknown-user": None,
        "unknown-device": None,
        "user-wins": shopper.pk,
        "device-stands-in": browser.pk,
        "other-channel": None,
    }


def test_anonymous_visitors_are_created_and_their_last_seen_only_moves_forward(send, woken):
    def seen(anonymous_id):
        visitor = AnonymousVisitor.objects.get(anonymous_id=anonymous_id)
        return visitor.first_seen_at, visitor.last_seen_at

    def at(minute):
        return dt.datetime(2026, 11, 30, 8, minute, tzinfo=dt.UTC)

    send(
        {
            "batch": [
                page("p1", anonymousId="a1", timestamp="2026-11-30T08:10:00Z"),
                track("t1", anonymousId="a1", timestamp="2026-11-30T08:05:00Z"),
                page("p2", anonymousId="a2", timestamp="2026-11-30T08:07:00Z"),
                track("t2", userId="u1", timestamp="2026-11-30T08:07:00Z"),
            ]
        }
    )
    assert AnonymousVisitor.objects.count() == 2  # a user id alone makes no visitor
    assert seen("a1") == (at(5), at(10)) and seen("a2") == (at(7), at(7))
    send({"batch": [page("late", anonymousId="a1", timestamp="2026-11-30T08:01:00Z")]})
    assert seen("a1")[1] == at(10)
    send({"batch": [page("later", anonymousId="a1", timestamp="2026-11-30T08:20:00Z")]})
    assert seen("a1") == (at(5), at(20))
    assert AnonymousVisitor.objects.filter(customer__isnull=False).count() == 0


def test_a_retried_message_id_is_stored_once(send, woken):
    body = {"batch": [track("m1", userId="u1"), page("m2", anonymousId="a1"), track("m1", userId="u1")]}
    assert send(body) == {"success": True, "accepted": 2, "duplicates": 1}
    # The client's retry is accepted again; the receipts drop it inside the statement.
    assert send(body) == {"success": True, "accepted": 2, "duplicates": 1}
    send({"batch": [page("m2", anonymousId="a1"), track("m3", userId="u1")]})
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m1", "m2", "m3"]
    assert EventReceipt.objects.count() == 3
    assert not StagedMessage.objects.exists() and not woken


def test_each_messages_objects_are_stored_as_the_request_gave_them(send, woken):
    """As the resolver copies them from a staged body (``test_resolver.py``), in the request's statement."""
    send_messages_with_objects(send)
    assert not StagedMessage.objects.exists()
    assert_objects_as_given()


def test_an_identify_is_staged_and_back_fills_the_events_stored_before_it(send, woken):
    answer = send(
        {
            "batch": [
                {"type": "identify", "userId": "U", "anonymousId": "A", "messageId": "i1", "traits": {"name": "Li Na"}},
                track("by-device", anonymousId="A"),
                track("by-user", userId="U"),
            ]
        }
    )
    assert answer["accepted"] == 3 and woken
    assert list(StagedMessage.objects.values_list("message_id", "type")) == [("i1", "identify")]
    assert customers() == {"by-device": None, "by-user": None}  # stored at once, on no one yet
    assert resolver.resolve_pending() == 1
    customer = Customer.objects.get()
    assert customer.name == "Li Na"
    assert customers() == {"i1": customer.pk, "by-device": customer.pk, "by-user": customer.pk}
    assert AnonymousVisitor.objects.get(anonymous_id="A").customer_id == customer.pk


def test_an_alias_back_fills_the_events_of_its_new_user_id_stored_before_it(send, woken, known_as):
    customer = known_as("old-id")
    send({"batch": [{"type": "alias", "previousId": "old-id", "userId": "new-id", "messageId": "a1"}]})
    send({"batch": [track("after-alias", userId="new-id")]})  # the client's next batch, before resolution
    assert resolver.resolve_pending() == 1
    assert customers()["after-alias"] == customer.pk  # as when the resolver stores both, in order


def test_order_events_are_staged_and_become_orders_when_resolved(send, woken, known_as):
    buyer = known_as("buyer")
    completed = track(
        "o1",
        "Order Completed",
        userId="buyer",
        properties={
            "order_id": "W-1",
            "total": 176,
            "currency": "CNY",
            "products": [{"product_id": "TEA-1", "name": "Longjing", "price": 88, "quantity": 2}],
        },
    )
    send({"batch": [track("viewed", userId="buyer"), completed]})
    assert customers() == {"viewed": buyer.pk}
    assert list(StagedMessage.objects.values_list("message_id", "name")) == [("o1", "Order Completed")]
    assert not Order.objects.exists() and woken
    assert resolver.resolve_pending() == 1
    order = Order.objects.get()
    assert (order.customer_id, order.external_id, order.total) == (buyer.pk, "W-1", 176)
    assert customers() == {"viewed": buyer.pk, "o1": buyer.pk}


@pytest.fixture
def recorded():
    """What ``events_recorded`` announces: ``(source id, [(message id, customer id), …])`` per send."""
    calls = []

    def receiver(sender, source, messages, **kwargs):
        calls.append((source.pk, [(m.message_id, m.customer_id) for m in messages]))

    events_recorded.connect(receiver, dispatch_uid="test_inline.recorded")
    yield calls
    events_recorded.disconnect(dispatch_uid="test_inline.recorded")


def test_inline_events_are_announced_with_their_customers(send, woken, known_as, source, recorded):
    shopper = known_as("u1")
    send({"batch": [track("t1", userId="u1"), page("p1", anonymousId="a1"), track("t1", userId="u1")]})
    send({"batch": [track("t1", userId="u1")]})  # a retry: nothing new, nothing announced
    assert recorded == [(source.pk, [("t1", shopper.pk), ("p1", None)])]


def test_an_inline_event_earns_per_event_points(send, woken, known_as):
    member = known_as("member")
    EarnRule.objects.create(name="Check-in", kind=EarnRuleKind.PER_EVENT, event_name="check_in", points=5)
    send({"batch": [track("c1", "check_in", userId="member"), track("c2", "check_in", userId="stranger")]})
    assert not StagedMessage.objects.exists()
    assert Account.objects.get(customer=member, asset=Asset.POINTS).balance == 5


# The identity-graph lock: another connection holds it, as the resolver does -------------------


def _other_connection() -> psycopg.Connection:
    """A connection of its own to the test database, outside Django (its transaction is its own)."""
    settings = connection.settings_dict
    options = {"HOST": "host", "PORT": "port", "USER": "user", "PASSWORD": "password"}
    return psycopg.connect(
        dbname=settings["NAME"], **{key: settings[name] for name, key in options.items() if settings[name]}
    )


class _Request(threading.Thread):
    """One tracking request in a thread with its own Django connection."""

    def __init__(self, source, body):
        super().__init__(daemon=True)
        self.source, self.body = source, body
        self.response = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = post(Client(), self.source, self.body)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()


def _wait_until_blocked(request: _Request, holder: psycopg.Connection, timeout: float = 30.0) -> None:
    """Until some session of the test database waits for an advisory lock (or the request is over)."""
    deadline = time.monotonic() + timeout
    while request.is_alive() and time.monotonic() < deadline:
        blocked = holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
        if blocked and blocked[0]:
            return
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_request_waits_while_the_identity_graph_is_locked_exclusively(source, monkeypatch):
    monkeypatch.setattr(resolver, "wake", lambda: None)
    request = _Request(source, {"batch": [track("t1", userId="u1"), page("p1", anonymousId="a1")]})
    holder = _other_connection()
    try:
        holder.execute(IDENTITY_GRAPH_LOCK.format(""))
        request.start()
        _wait_until_blocked(request, holder)
        request.join(0.5)
        assert request.is_alive(), "the request stored its events while the identity graph was locked"
        assert not Event.objects.exists()
    finally:
        holder.rollback()
        request.join(60)
        holder.close()
    assert not request.is_alive() and request.error is None
    assert request.response is not None and request.response.status_code == 200, request.response
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["p1", "t1"]
    assert not StagedMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_requests_share_the_identity_graph_lock(source, monkeypatch):
    monkeypatch.setattr(resolver, "wake", lambda: None)
    request = _Request(source, {"batch": [track("t1", userId="u1")]})
    holder = _other_connection()
    try:
        holder.execute(IDENTITY_GRAPH_LOCK.format("_shared"))  # another request, still storing
        request.start()
        request.join(30)
        assert not request.is_alive(), "a request waited for another request's shared lock"
    finally:
        holder.rollback()
        request.join(60)
        holder.close()
    assert request.error is None and request.response is not None and request.response.status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["t1"]


@pytest.mark.django_db(transaction=True)
def test_a_merge_waits_for_requests_storing_events_so_it_moves_them_all(system_actor, make_customer):
    """A request holding the graph lock shared may be storing events on the customer being merged
    away: the merge (from the console, the API or the resolver) waits for it, then moves them."""
    from rapport.customers.merge import merge_customers

    survivor, merged = make_customer(name="Survivor"), make_customer(name="Merged")
    done = threading.Event()
    errors: list[BaseException] = []

    def merge() -> None:
        try:
            merge_customers(survivor, merged, actor=system_actor, reason="same person")
            done.set()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=merge, daemon=True)
    holder = _other_connection()
    try:
        holder.execute(IDENTITY_GRAPH_LOCK.format("_shared"))  # a request, still storing
        worker.start()
        assert not done.wait(1.0), "the merge ran while a request was storing events"
    finally:
        holder.rollback()
        worker.join(60)
        holder.close()
    assert done.is_set() and not errors
    assert list(Customer.objects.values_list("pk", flat=True)) == [survivor.pk]
