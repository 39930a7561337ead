"""Events in the console and the read API: sources, explorer, timeline, abandoned carts."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.events import resolver
from rapport.events.models import Event, Source
from rapport.events.queries import abandoned_carts
from rapport.events.services import create_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(system_actor):
    return create_source(data={"name": "App", "identity_channel": "app"}, actor=system_actor)


def send(client, source, body, path="/v1/batch"):
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
    response = client.post(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    return response


def test_sources_are_created_rotated_and_disabled_in_the_console(client, make_staff):
    client.force_login(make_staff(roles.OPERATOR))
    bad = client.post("/events/sources/", {"name": "", "identity_channel": "Not Valid"})
    assert bad.status_code == 200 and 'id="identity_channel-errors"' in bad.content.decode()
    assert not Source.objects.exists()
    created = client.post("/events/sources/", {"name": "Mini program", "identity_channel": "mini_program"})
    source = Source.objects.get()
    assert created["Location"] == f"/events/sources/{source.pk}/"
    page = client.get(f"/events/sources/{source.pk}/").content.decode()
    assert source.write_key in page
    old_key = source.write_key
    client.post(f"/events/sources/{source.pk}/rotate/")
    source.refresh_from_db()
    assert source.write_key != old_key
    client.post(f"/events/sources/{source.pk}/disable/")
    source.refresh_from_db()
    assert not source.is_enabled


def test_analysts_see_sources_but_not_their_keys(client, make_staff, source):
    client.force_login(make_staff(roles.ANALYST))
    page = client.get(f"/events/sources/{source.pk}/").content.decode()
    assert source.write_key not in page
    assert client.post(f"/events/sources/{source.pk}/rotate/").status_code == 403


def test_explorer_timeline_and_api(client, admin_api, make_staff, source):
    send(
        client,
        source,
        {
            "batch": [
                {"type": "identify", "userId": "u1", "messageId": "i1", "traits": {"name": "Ma Li"}},
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Product Viewed",
                    "messageId": "t1",
                    "properties": {"sku": "TEA-1"},
                },
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Product Viewed",
                    "messageId": "t2",
                    "properties": {"sku": "CUP-2"},
                },
                {"type": "page", "anonymousId": "x", "name": "Home", "messageId": "p1"},
            ]
        },
    )
    customer_id = Event.objects.get(message_id="t1").customer_id
    client.force_login(make_staff(roles.OPERATOR))
    page = client.get("/events/", {"name": "Product Viewed", "property": "sku", "value": "TEA-1"}).content.decode()
    assert "TEA-1" in page and "CUP-2" not in page
    assert "type: one of" in client.get("/events/", {"type": "shout"}).content.decode()
    timeline = client.get(f"/customers/{customer_id}/", {"tab": "timeline"}).content.decode()
    assert "Product Viewed" in timeline and "Home" not in timeline

    listed = admin_api.get("/api/v1/events", {"customer": customer_id}).json()
    assert listed["count"] == 3
    assert admin_api.get("/api/v1/events", {"since": "nope"}).status_code == 422


def test_sales_staff_see_only_their_customers_events(client, make_staff, source):
    send(client, source, {"batch": [{"type": "page", "anonymousId": "x", "name": "Home", "messageId": "p1"}]})
    client.force_login(make_staff(roles.SALES))
    assert "Home" not in client.get("/events/").content.decode()


def test_abandoned_carts(client, source):
    old = (timezone.now() - dt.timedelta(hours=3)).isoformat()
    send(
        client,
        source,
        {
            "batch": [
                {"type": "identify", "userId": "cart", "messageId": "i1", "traits": {"name": "Cart Only"}},
                {"type": "identify", "userId": "buyer", "messageId": "i2", "traits": {"name": "Bought"}},
                {"type": "identify", "userId": "fresh", "messageId": "i3", "traits": {"name": "Still Shopping"}},
                {"type": "track", "userId": "cart", "event": "Product Added", "messageId": "a1", "timestamp": old},
                {"type": "track", "userId": "buyer", "event": "Checkout Started", "messageId": "a2", "timestamp": old},
                {
                    "type": "track",
                    "userId": "buyer",
                    "event": "Order Completed",
                    "messageId": "a3",
                    "properties": {"order_id": "B1", "products": [{"sku": "X", "price": 10}]},
                },
                {"type": "track", "userId": "fresh", "event": "Product Added", "messageId": "a4"},
            ]
        },
    )
    assert [c.name for c in abandoned_carts()] == ["Cart Only"]


def test_the_source_page_counts_messages_accepted_but_not_yet_stored(client, make_staff, source, monkeypatch):
    monkeypatch.setattr(resolver, "wake", lambda: None)
    # an identify is always staged (on PostgreSQL a page call would be stored by the request)
    send(client, source, {"batch": [{"type": "identify", "userId": "u-9", "messageId": "i1"}]})
    client.force_login(make_staff(roles.OPERATOR))
    page = client.get(f"/events/sources/{source.pk}/").content.decode()
    assert '<dd id="staged-count">1</dd>' in page and '<span class="badge">identify</span>' not in page
    resolver.resolve_pending()
    page = client.get(f"/events/sources/{source.pk}/").content.decode()
    assert '<dd id="staged-count">0</dd>' in page and '<span class="badge">identify</span>' in page
