"""Tag sync against a real HTTP receiver on loopback: signed deliveries, retries with back-off,
dead letters and their retry."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from rapport.core.errors import InvalidInput
from rapport.customers.services import add_identity
from rapport.tags import services, sync
from rapport.tags.models import SyncDelivery

pytestmark = pytest.mark.django_db


class Receiver:
    """A third party's webhook endpoint: records each request and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rapport"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def endpoint(receiver, system_actor):
    endpoint, secret = services.create_endpoint(
        data={"name": "WeCom bridge", "url": receiver.url, "max_attempts": 3}, actor=system_actor
    )
    return endpoint, secret


def test_a_tag_change_is_posted_signed_with_the_customers_identities(
    receiver, endpoint, make_customer, make_tag, system_actor
):
    hook, secret = endpoint
    customer = make_customer(name="Li Na")
    add_identity(customer, channel="wecom", external_id="wm-42", actor=system_actor)
    tag = make_tag("VIP")
    services.add_tags(customer, [tag], actor=system_actor)
    services.remove_tags(customer, [tag], actor=system_actor)
    assert SyncDelivery.objects.filter(endpoint=hook, status="pending").count() == 2

    assert sync.deliver_due() == {"delivered": 2, "retrying": 0, "dead": 0}
    assert len(receiver.requests) == 2
    events = []
    for headers, body in receiver.requests:
        assert headers["content-type"].startswith("application/json")
        assert sync.verify(secret, headers["x-rapport-timestamp"], body, headers["x-rapport-signature"])
        assert not sync.verify(secret, headers["x-rapport-timestamp"], body + b" ", headers["x-rapport-signature"])
        assert not sync.verify("wrong", headers["x-rapport-timestamp"], body, headers["x-rapport-signature"])
        events.append(json.loads(body))
    added, removed = sorted(events, key=lambda e: e["sequence"])
    assert added["type"] == "tag.added" and removed["type"] == "tag.removed"
    assert added["customer"] == {"id": customer.pk, "identities": [{"channel": "wecom", "external_id": "wm-42"}]}
    assert added["tag"] == {"id": tag.pk, "category": "Interests", "name": "VIP", "type": "manual"}
    assert {e["id"] for e in events} == {str(d.event_id) for d in SyncDelivery.objects.all()}
    assert set(SyncDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert sync.deliver_due() == {"delivered": 0, "retrying": 0, "dead": 0}


def test_the_hmac_is_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sync.sign("s3cret", "1700000000", body) == expected
    assert sync.verify("s3cret", "1700000000", body, expected, now=1700000100)
    assert not sync.verify("s3cret", "1700000000", body, expected, now=1700001000)  # too old: a replay


def test_a_failing_receiver_is_retried_with_back_off_then_dead_lettered_then_recovered(
    receiver, endpoint, make_customer, make_tag, system_actor
):
    hook, _secret = endpoint
    receiver.status = 500
    services.add_tags(make_customer(), [make_tag("Flaky")], actor=system_actor)
    delivery = SyncDelivery.objects.get(endpoint=hook)

    assert sync.deliver_due() == {"delivered": 0, "retrying": 1, "dead": 0}
    delivery.refresh_from_db()
    first_wait = delivery.next_attempt_at - timezone.now()
    assert delivery.attempts == 1 and delivery.last_status_code == 500 and "500" in delivery.last_error
    assert dt.timedelta(seconds=25) < first_wait <= dt.timedelta(seconds=30)
    assert sync.deliver_due() == {"delivered": 0, "retrying": 0, "dead": 0}  # not due yet

    later = timezone.now() + dt.timedelta(minutes=1)
    assert sync.deliver_due(now=later) == {"delivered": 0, "retrying": 1, "dead": 0}
    delivery.refresh_from_db()
    assert dt.timedelta(seconds=55) < delivery.next_attempt_at - timezone.now() <= dt.timedelta(seconds=60)
    assert sync.deliver_due(now=later + dt.timedelta(minutes=2)) == {"delivered": 0, "retrying": 0, "dead": 1}
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.attempts == 3
    assert len(receiver.requests) == 3
    assert [h["x-rapport-attempt"] for h, _b in receiver.requests] == ["1", "2", "3"]

    receiver.status = 204
    assert services.retry_deliveries(SyncDelivery.objects.filter(pk=delivery.pk), actor=system_actor) == 1
    assert sync.deliver_due() == {"delivered": 1, "retrying": 0, "dead": 0}
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    bodies = {json.loads(b)["id"] for _h, b in receiver.requests}
    assert bodies == {str(delivery.event_id)}  # every retry carries the same id: receivers de-duplicate


def test_an_unreachable_receiver_counts_as_a_failure(make_customer, make_tag, system_actor):
    services.create_endpoint(data={"name": "Gone", "url": "http://127.0.0.1:9/nothing"}, actor=system_actor)
    services.add_tags(make_customer(), [make_tag("X")], actor=system_actor)
    assert sync.deliver_due() == {"delivered": 0, "retrying": 1, "dead": 0}
    assert SyncDelivery.objects.get().last_error


def test_deliveries_start_once_the_change_commits(
    receiver, endpoint, make_customer, make_tag, system_actor, django_capture_on_commit_callbacks
):
    customer, tag = make_customer(), make_tag("Now")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_tags(customer, [tag], actor=system_actor)
    assert len(receiver.requests) == 1
    assert SyncDelivery.objects.get().status == "delivered"


def test_endpoints_can_listen_to_some_tags_only(receiver, make_customer, make_tag, system_actor):
    wanted, other = make_tag("Wanted"), make_tag("Other")
    services.create_endpoint(data={"name": "Some", "url": receiver.url, "tags": [wanted.pk]}, actor=system_actor)
    services.add_tags(make_customer(), [wanted, other], actor=system_actor)
    assert [d.payload["tag"]["name"] for d in SyncDelivery.objects.all()] == ["Wanted"]


def test_inactive_endpoints_get_nothing_and_bad_endpoints_are_refused(
    receiver, endpoint, make_customer, make_tag, system_actor
):
    hook, _secret = endpoint
    services.update_endpoint(hook, data={"is_active": False}, actor=system_actor)
    services.add_tags(make_customer(), [make_tag("Quiet")], actor=system_actor)
    assert not SyncDelivery.objects.exists()
    with pytest.raises(InvalidInput) as bad:
        services.create_endpoint(
            data={"name": "WeCom bridge", "url": "ftp://x", "adapter": "carrier-pigeon", "max_attempts": 0},
            actor=system_actor,
        )
    assert {e.field for e in bad.value.errors} == {"name", "url", "adapter", "max_attempts"}
