"""The real Segment and RudderStack Python libraries against a live Rapport server on loopback.

Each client runs as shops run it: asynchronous (a consumer thread batching the queue), host
pointed at the server. The tests check that every message sent arrives exactly once and lands
on the right customer, also when the server goes away in the middle of the stream and comes
back on the same port (the libraries retry), and when the server commits a batch but the client
never hears the answer and sends it again.

The server answers once a batch is staged; the events are stored by the resolver thread that
runs beside it, as in the embedded default (not inline as elsewhere in the tests).
:func:`wait_until_resolved` waits for it to empty the staging table, then stops it, before a
test looks at the stored events.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import rudderstack.analytics.request as rudder_request
import segment.analytics.request as segment_request
from django.db import OperationalError, connection, connections
from django.db.models import Count
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from rapport.commerce.models import Order
from rapport.core import jobs
from rapport.customers.models import Customer, Identity, identity_index_of
from rapport.events import resolver
from rapport.events.models import AnonymousVisitor, Event, EventReceipt, Source, StagedMessage
from rapport.events.services import create_source
from rapport.testing.live_server import RestartableServer

pytestmark = pytest.mark.django_db(transaction=True)

LIBRARIES = ["segment", "rudderstack"]
FLUSH_TIMEOUT = 30.0


@pytest.fixture
def source(transactional_db: None, system_actor: Any) -> Source:
    return create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=system_actor)


@pytest.fixture
def server(transactional_db: None, _jobs_run_inline: None, settings: Any) -> Iterator[RestartableServer]:
    settings.RAPPORT_JOBS_SYNC = False  # the resolver thread of the embedded default, not inline
    with RestartableServer(threads=4) as running:
        yield running
    resolver.stop_in_process_resolver()
    # Jobs the stored events started (loyalty, campaigns) ran on the in-process job thread: close
    # its connection, or PostgreSQL refuses to drop the test database.
    jobs._in_process_pool().submit(connections.close_all).result()


class Sender:
    """One library's client, remembering the id of every message it was given."""

    def __init__(self, library: str, source: Source, server: RestartableServer, **options: Any) -> None:
        self.library = library
        self.errors: list[tuple[Exception, list[dict[str, Any]]]] = []
        self.sent: list[dict[str, Any]] = []
        settings: dict[str, Any] = {
            "write_key": source.write_key,
            "host": server.url,
            "sync_mode": False,
            "upload_size": 10,
            "upload_interval": 0.05,
            "max_retries": 12,
            "timeout": 10,
            "on_error": lambda error, batch: self.errors.append((error, batch)),
        }
        if library == "segment":
            # gzip off here (the RudderStack library compresses by default); cap the backoff
            # so a long outage fails the test quickly instead of waiting for twelve hours.
            settings.update(gzip=False, max_total_backoff_duration=30)
            settings.update(options)
            self.client: Any = SegmentClient(**settings)
        else:
            settings.update(gzip=True)
            settings.update(options)
            self.client = RudderClient(**settings)

    def _keep(self, result: tuple[bool, dict[str, Any]]) -> dict[str, Any]:
        queued, message = result
        assert queued, f"{self.library}: the queue is full"
        self.sent.append(message)
        return message

    def identify(self, user_id: str | None, traits: dict[str, Any], anonymous_id: str | None = None) -> None:
        self._keep(self.client.identify(user_id=user_id, traits=traits, anonymous_id=anonymous_id))

    def track(self, event: str, *, user_id: str | None = None, anonymous_id: str | None = None, **props: Any) -> None:
        self._keep(self.client.track(user_id=user_id, event=event, properties=props, anonymous_id=anonymous_id))

    def page(self, name: str, *, user_id: str | None = None, anonymous_id: str | None = None) -> None:
        self._keep(self.client.page(user_id=user_id, name=name, anonymous_id=anonymous_id, properties={"path": "/"}))

    def alias(self, previous_id: str, user_id: str) -> None:
        self._keep(self.client.alias(previous_id=previous_id, user_id=user_id))

    def finish(self) -> None:
        """flush() then join(), as a shop's process does on exit; fail rather than hang."""
        done = threading.Thread(target=self.client.flush, daemon=True)
        done.start()
        done.join(FLUSH_TIMEOUT)
        assert not done.is_alive(), f"{self.library}: flush() still waiting after {FLUSH_TIMEOUT} s"
        self.client.join()
        assert not self.errors, f"{self.library} gave up on batches: {self.errors[:1]}"

    @property
    def message_ids(self) -> list[str]:
        return [m["messageId"] for m in self.sent]


def assert_exactly_once(sender: Sender) -> None:
    ids = sender.message_ids
    assert len(set(ids)) == len(ids)
    counts = dict(Event.objects.filter(message_id__in=ids).values_list("message_id").annotate(n=Count("id")).order_by())
    missing = [i for i in ids if i not in counts]
    doubled = {i: n for i, n in counts.items() if n != 1}
    assert not missing, f"{len(missing)} of {len(ids)} messages never arrived, e.g. {missing[:3]}"
    assert not doubled, f"messages stored more than once: {list(doubled.items())[:3]}"
    assert Event.objects.count() == len(ids)
    assert EventReceipt.objects.count() == len(ids)


def customer_of(channel: str, user_id: str) -> int:
    return Identity.objects.get(external_index=identity_index_of(channel, user_id)).customer_id


def assert_on_the_right_customers(source: Source, sender: Sender) -> None:
    """Every event with a user id is on that user's customer (after any merges)."""
    for message in sender.sent:
        event = Event.objects.get(message_id=message["messageId"])
        if message.get("userId"):
            expected = customer_of(source.identity_channel, message["userId"])
            assert event.customer_id == expected, f"{message['type']} {message.get('event', '')} of {message['userId']}"


class Failures:
    """The libraries' HTTP posts that failed (refused, cut off, 5xx): proof that they retried."""

    def __init__(self) -> None:
        self.by_library: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def __getitem__(self, library: str) -> int:
        return self.by_library[library]


@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> Failures:
    seen = Failures()
    for library, module in (("segment", segment_request), ("rudderstack", rudder_request)):
        session = module._session
        original = session.post

        def post(*args: Any, _original: Callable[..., Any] = original, _name: str = library, **kwargs: Any) -> Any:
            try:
                response = _original(*args, **kwargs)
            except requests.RequestException:
                seen.by_library[_name] += 1
                raise
            if response.status_code >= 500:
                seen.by_library[_name] += 1
                seen.statuses[response.status_code] += 1
            return response

        monkeypatch.setattr(session, "post", post)
    return seen


def _count(model: Any) -> int:
    """Rows so far, read while the server writes.

    SQLite's in-memory test database is shared between threads in shared-cache mode, where a
    read meeting a write fails at once ("table is locked") instead of waiting: try again.
    """
    for _ in range(200):
        try:
            return int(model.objects.count())
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    return int(model.objects.count())


def stored_events() -> int:
    return _count(Event)


def wait_until_resolved(timeout: float = 30.0) -> None:
    """Wait for the resolver thread to empty the staging table, then stop it."""
    deadline = time.monotonic() + timeout
    while _count(StagedMessage):
        assert time.monotonic() < deadline, f"staged messages still unresolved after {timeout} s"
        time.sleep(0.05)
    resolver.stop_in_process_resolver()


def assert_no_server_errors(failures: Failures) -> None:
    """No 5xx answers (each one would be a request the server failed and the library retried).

    Not checked on SQLite's in-memory test database, whose shared-cache locks refuse concurrent
    writers at once; the file database a real SQLite install uses waits for its lock instead.
    """
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return
    assert not failures.statuses, f"the server answered {dict(failures.statuses)}"


# Everything a shop sends -----------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_shop_session_arrives_once_on_the_right_customers(library, source, server, failures):
    sender = Sender(library, source, server)
    # A visitor browses before signing in, then identifies with phone and email.
    sender.page("Home", anonymous_id="anon-1")
    sender.track("Product Viewed", anonymous_id="anon-1", sku="TEA-1", price=88)
    sender.track("Product Added", anonymous_id="anon-1", sku="TEA-1", quantity=2)
    sender.identify(
        "shop-1",
        {"firstName": "Fang", "lastName": "Wang", "email": "fang@example.com", "phone": "13912345678"},
        anonymous_id="anon-1",
    )
    # Several more users; one is tracked before the shop identifies them.
    sender.track("Product Viewed", user_id="shop-4", sku="CUP-1")
    for n in (2, 3, 4):
        sender.identify(f"shop-{n}", {"name": f"Customer {n}", "email": f"c{n}@example.com", "phone": f"1390000000{n}"})
    for n in range(30):
        sender.track("Product Viewed", user_id=f"shop-{n % 4 + 1}", sku=f"SKU-{n}")
    # Another device of shop-2, anonymous until an alias links it.
    sender.page("Sale", anonymous_id="anon-2")
    sender.alias("anon-2", "shop-2")
    # shop-5 turns out to be shop-3 under an old id: alias of two known users merges them.
    sender.identify("shop-5", {"name": "Old account of 3"})
    sender.track("Product Viewed", user_id="shop-5", sku="OLD-1")
    sender.alias("shop-5", "shop-3")
    sender.track(
        "Order Completed",
        user_id="shop-1",
        order_id=f"{library}-1001",
        total=259,
        currency="CNY",
        products=[
            {"product_id": "TEA-1", "name": "Longjing", "price": 88, "quantity": 2},
            {"sku": "CUP-1", "name": "Cup", "price": 83},
        ],
    )
    sender.finish()
    wait_until_resolved()

    assert not failures[library], "every batch went through at the first attempt"
    assert_exactly_once(sender)
    assert_on_the_right_customers(source, sender)
    channel = source.identity_channel
    fang = Customer.objects.get(pk=customer_of(channel, "shop-1"))
    assert fang.name == "Fang Wang" and fang.phone == "+8613912345678" and fang.email == "fang@example.com"
    # The anonymous browsing before identify is stitched to her.
    assert set(Event.objects.filter(anonymous_id="anon-1").values_list("customer_id", flat=True)) == {fang.pk}
    assert AnonymousVisitor.objects.get(anonymous_id="anon-1").customer_id == fang.pk
    # The aliased device's page view is on shop-2; shop-5's events moved to shop-3 in the merge.
    assert Event.objects.get(anonymous_id="anon-2", type="page").customer_id == customer_of(channel, "shop-2")
    assert customer_of(channel, "shop-5") == customer_of(channel, "shop-3")
    assert Event.objects.get(user_id="shop-5", type="track").customer_id == customer_of(channel, "shop-3")
    assert Customer.objects.count() == 4
    order = Order.objects.get(external_id=f"{library}-1001")
    assert order.customer_id == fang.pk and order.total == 259 and order.lines.count() == 2
    assert order.channel == channel


# The server goes away in the middle ------------------------------------------------------------


def _stream(sender: Sender, users: list[str], events: int, started: threading.Event) -> None:
    for n in range(events):
        if n == 40:
            started.set()
        sender.track("Product Viewed", user_id=users[n % len(users)], sku=f"SKU-{n % 50}", position=n)
        time.sleep(0.004)
    started.set()


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_server_restart_in_the_middle_loses_and_doubles_nothing(library, source, server, failures):
    sender = Sender(library, source, server, upload_size=20)
    users = [f"r-{n}" for n in range(6)]
    for user in users:
        sender.identify(user, {"name": user.upper(), "phone": f"1380000{users.index(user):04d}"})
    started = threading.Event()
    stream = threading.Thread(target=_stream, args=(sender, users, 360, started), daemon=True)
    stream.start()
    assert started.wait(10)
    deadline = time.monotonic() + 10
    while stored_events() < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    # The process goes away: its resolver too, so what it staged and did not resolve waits.
    server.stop()
    resolver.stop_in_process_resolver()
    stored_while_down = stored_events()
    staged_while_down = _count(StagedMessage)
    time.sleep(1.5)
    # Nothing gets through while the server is down: connections are refused.
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/v1/batch", json={"batch": []}, timeout=2)
    assert stored_events() == stored_while_down and _count(StagedMessage) == staged_while_down
    server.start()
    stream.join(20)
    assert not stream.is_alive()
    sender.finish()
    wait_until_resolved()

    assert 0 < stored_while_down < len(sender.sent), "the outage fell outside the stream"
    assert failures[library] > 0, "the library never had to retry"
    assert_no_server_errors(failures)
    assert_exactly_once(sender)
    assert_on_the_right_customers(source, sender)
    assert Customer.objects.count() == len(users)


@pytest.mark.parametrize("library", LIBRARIES)
def test_batches_committed_but_unanswered_are_retried_and_dropped(library, source, server, failures):
    """The server stores a batch, then the answer is lost (a 503 here): the library sends it again."""
    sender = Sender(library, source, server, upload_size=10)
    server.fail_after_commit(3)
    for n in range(50):
        sender.track("Product Viewed", anonymous_id=f"anon-{n % 5}", sku=f"SKU-{n}")
    sender.finish()
    wait_until_resolved()
    assert failures[library] >= 3
    assert_exactly_once(sender)


def test_the_same_batch_posted_twice_is_stored_once(source, server):
    batch = [
        {"type": "track", "event": "Product Viewed", "userId": "twice", "messageId": str(uuid.uuid4())}
        for _ in range(25)
    ]
    body = {"batch": batch, "sentAt": "2030-01-01T00:00:00Z"}
    with requests.Session() as http:
        first = http.post(f"{server.url}/v1/batch", json=body, auth=(source.write_key, ""), timeout=10)
        again = http.post(f"{server.url}/v1/batch", json=body, auth=(source.write_key, ""), timeout=10)
        # The library's own request function, as its consumer would call it on a retry.
        third = segment_request.post(source.write_key, host=server.url, batch=batch, timeout=10)
    # Each post is staged in full (the answer cannot know the earlier ones); the resolver keeps one of each.
    for response in (first, again, third):
        assert response.status_code == 200 and response.json() == {"success": True, "accepted": 25, "duplicates": 0}
    wait_until_resolved()
    assert Event.objects.count() == 25 and EventReceipt.objects.count() == 25


# Both libraries at once, two sources sharing an identity channel --------------------------------


def test_two_sources_sending_at_once(source, server, system_actor, failures):
    app = create_source(data={"name": "App", "identity_channel": "web"}, actor=system_actor)
    web = Sender("segment", source, server)
    mobile = Sender("rudderstack", app, server)
    users = [f"both-{n}" for n in range(5)]
    for user in users:
        web.identify(user, {"name": user, "email": f"{user}@example.com"})
    web.finish()

    def send(sender: Sender) -> None:
        for n in range(150):
            sender.track("Product Viewed", user_id=users[n % len(users)], sku=f"SKU-{n}")

    web = Sender("segment", source, server)
    threads = [threading.Thread(target=send, args=(s,)) for s in (web, mobile)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    web.finish()
    mobile.finish()
    wait_until_resolved()
    for sender in (web, mobile):
        ids = sender.message_ids
        assert Event.objects.filter(message_id__in=ids).count() == len(ids) == 150
        assert_on_the_right_customers(source, sender)
    assert Event.objects.filter(source=app).count() == 150
    assert Customer.objects.count() == len(users)
    assert_no_server_errors(failures)


# Races between sources (PostgreSQL: SQLite writes one transaction at a time) ------------------

skip_unless_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent ingest transactions need PostgreSQL"
)


@pytest.mark.postgres_only
@skip_unless_postgres
def test_two_sources_identifying_the_same_new_visitors_at_once(source, server, system_actor, failures):
    """The browser sends page views and signs visitors in while the shop's backend identifies them.

    When each request resolved identities in its own transaction, this raced unless an
    identity-graph lock serialised them: an event stored while another request identified its
    user or device kept customer_id NULL, and two requests creating the same new customer either
    failed on a unique key (500, then the library's retry) or recorded a ProcessingError
    "customer #n already has this email" for the same person. Now the requests only stage, and
    the resolver's single lane resolves both sources' messages one chunk at a time.
    """
    backend_source = create_source(data={"name": "Shop backend", "identity_channel": "web"}, actor=system_actor)
    browser = Sender("segment", source, server, upload_size=4, upload_interval=0.01)
    backend = Sender("rudderstack", backend_source, server, upload_size=4, upload_interval=0.01)
    visitors = [f"v-{n}" for n in range(40)]  # browsed by the browser source, identified by the backend
    shared = [f"w-{n}" for n in range(len(visitors))]  # signed up through both sources at once

    def browse() -> None:
        for visitor, user in zip(visitors, shared, strict=True):
            browser.track("Product Viewed", anonymous_id=f"device-{visitor}", sku="TEA-1")
            browser.track("Product Viewed", user_id=visitor, sku="TEA-2")
            browser.identify(user, {"name": user.upper(), "email": f"{user}@example.com"})
            time.sleep(0.001)

    def sign_in() -> None:
        for visitor, user in zip(visitors, shared, strict=True):
            backend.identify(visitor, {"name": visitor.upper()}, anonymous_id=f"device-{visitor}")
            backend.identify(user, {"name": user.upper(), "email": f"{user}@example.com"})
            time.sleep(0.001)

    threads = [threading.Thread(target=browse), threading.Thread(target=sign_in)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    browser.finish()
    backend.finish()
    wait_until_resolved()
    assert Event.objects.count() == 5 * len(visitors)
    assert Customer.objects.count() == 2 * len(visitors)
    orphans = list(Event.objects.filter(customer__isnull=True).values_list("type", "user_id", "anonymous_id"))
    assert not orphans, f"{len(orphans)} events without their customer, e.g. {orphans[:3]}"
    assert_on_the_right_customers(source, browser)
    assert_no_server_errors(failures)
