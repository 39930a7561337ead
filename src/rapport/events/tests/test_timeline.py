"""The 360 Timeline: events, orders, refunds, tickets and messages together, newest first."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from rapport.accounts import roles
from rapport.campaigns.models import Message
from rapport.commerce import services as commerce
from rapport.events.models import Event, EventType, Source
from rapport.events.tabs import customer_timeline
from rapport.service.services import open_ticket


def _order(customer, actor, external_id, placed_at):
    order, _created = commerce.upsert_order(
        data={
            "channel": "web",
            "external_id": external_id,
            "customer_id": customer.pk,
            "status": "paid",
            "placed_at": placed_at.isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Tea", "quantity": 1, "unit_price": "120.00"}],
        },
        actor=actor,
    )
    return order


def test_a_customer_with_orders_but_no_events_has_a_timeline(client, make_customer, make_staff, system_actor):
    customer = make_customer(name="Zhou Min")
    now = timezone.now()
    first = _order(customer, system_actor, "W-1", now - dt.timedelta(days=9))
    _order(customer, system_actor, "W-2", now - dt.timedelta(days=5))
    commerce.record_refund(
        first, external_id="RF-1", amount="20.00", actor=system_actor, refunded_at=now - dt.timedelta(days=7)
    )
    ticket = open_ticket(customer=customer, channel="email", subject="Where is W-2?", body="Hi", actor=system_actor)
    Message.objects.create(
        customer=customer, channel="email", status=Message.Status.DELIVERED, not_before=now, created_at=now,
        sent_at=now - dt.timedelta(days=3),
    )  # fmt: skip
    source = Source.objects.create(name="Web shop", write_key_hash="x", identity_channel="web")
    Event.objects.create(
        timestamp=now - dt.timedelta(days=6), source=source, message_id="m1", type=EventType.TRACK,
        name="Product Viewed", customer=customer, received_at=now, properties={"sku": "TEA-1"},
    )  # fmt: skip

    client.force_login(make_staff(roles.ADMIN))
    page = client.get(f"/customers/{customer.pk}/", {"tab": "timeline"})
    body = page.content.decode()
    assert "No events." not in body
    kinds = [m.kind for m in page.context["timeline_page"].items]
    assert kinds == ["ticket", "message", "order", "event", "refund", "order"]  # newest first
    assert ticket.number in body and "W-1" in body
    assert "Product Viewed" in body and "Where is W-2?" in body

    only_events = client.get(f"/customers/{customer.pk}/", {"tab": "timeline", "event": "Product Viewed"})
    assert [m.kind for m in only_events.context["timeline_page"].items] == ["event"]


def test_each_kind_is_shown_only_to_those_who_may_see_it(make_customer, make_staff, system_actor):
    from django.contrib.auth.models import Permission, User

    customer = make_customer()
    _order(customer, system_actor, "W-9", timezone.now() - dt.timedelta(days=1))
    open_ticket(customer=customer, channel="email", subject="Hello", body="Hi", actor=system_actor)
    assert {m.kind for m in customer_timeline(make_staff(roles.ADMIN), customer).items} == {"order", "ticket"}
    clerk = User.objects.create_user("clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="commerce"))
    clerk = User.objects.get(pk=clerk.pk)  # permissions are cached on the instance
    assert {m.kind for m in customer_timeline(clerk, customer).items} == {"order"}


def test_pages_continue_across_kinds(make_customer, system_actor, make_staff):
    customer = make_customer()
    now = timezone.now()
    for n in range(60):
        _order(customer, system_actor, f"W-{n}", now - dt.timedelta(hours=n))
    admin = make_staff(roles.ADMIN)
    first, second = customer_timeline(admin, customer), customer_timeline(admin, customer, offset=50)
    assert first.count == 60 and len(first.items) == 50 and len(second.items) == 10
    titles = [m.title for m in first.items + second.items]
    assert titles == [f"W-{n}" for n in range(60)]
