"""The demo shop's behaviour: events through the tracking ingestion, tags, segments, journeys."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from rapport.accounts import roles
from rapport.campaigns.models import Plan
from rapport.commerce.models import Order
from rapport.demo.generator import SHOP_TIME_ZONE
from rapport.demo.loader import SeedReport
from rapport.demo.tests.conftest import END
from rapport.events.models import Event, Source
from rapport.events.queries import abandoned_carts
from rapport.segments.models import Segment
from rapport.tags.models import CustomerTag, Tag


def test_the_demo_shop_has_a_behaviour_stream_of_its_members(small_shop: SeedReport) -> None:
    events = Event.objects.all()
    assert small_shop.counts["behaviour events"] == events.count() > 1000
    names = set(events.values_list("name", flat=True))
    assert {"Product Viewed", "Products Searched", "Product Added", "Checkout Started"} <= names
    assert events.filter(type="page").exists()
    assert events.filter(customer__isnull=False).count() > events.count() // 2  # resolved to members
    assert events.filter(customer__isnull=True).exists()  # and anonymous visitors
    assert Source.objects.count() == 3
    # Each order placed on the shop's own channels in the window came from a checkout just before it.
    order = Order.objects.filter(channel="web", customer__isnull=False).order_by("-placed_at").first()
    assert order is not None
    checkout = Event.objects.filter(
        customer_id=order.customer_id, name="Checkout Started", timestamp__lt=order.placed_at
    )
    last_checkout = checkout.order_by("-timestamp").first()
    assert last_checkout is not None and last_checkout.timestamp > order.placed_at - dt.timedelta(hours=1)
    loaded_at = dt.datetime.combine(END, dt.time(12), tzinfo=SHOP_TIME_ZONE)  # the fixture's clock
    assert abandoned_carts(loaded_at, idle_minutes=60).exists()


def test_automatic_tags_segments_and_journeys_are_at_work(small_shop: SeedReport) -> None:
    automatic = Tag.objects.filter(type=Tag.Type.AUTOMATIC)
    assert automatic.count() == small_shop.counts["automatic tags"] == 5
    held = {tag.name: CustomerTag.objects.filter(tag=tag).count() for tag in automatic}
    assert all(held.values()), held
    assert Segment.objects.filter(is_template=False).count() >= 3
    running = Plan.objects.filter(kind=Plan.Kind.JOURNEY, status=Plan.Status.RUNNING)
    assert {p.trigger["type"] for p in running} >= {"abandoned_cart", "event"}


def test_the_timeline_of_the_best_customer_shows_orders_and_events(small_shop: SeedReport, make_staff) -> None:
    from django.db.models import Count

    best = Order.objects.values("customer_id").annotate(n=Count("pk")).order_by("-n", "customer_id").first()
    assert best is not None
    customer_id = best["customer_id"]
    client = Client()
    client.force_login(make_staff(roles.ADMIN))
    page = client.get(f"/customers/{customer_id}/", {"tab": "timeline"})
    assert "No events." not in page.content.decode()
    assert "order" in {m.kind for m in page.context["timeline_page"].items}
