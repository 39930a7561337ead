"""Journeys start from events, orders, segment entries, birthdays, inactivity and abandoned carts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from rapport.campaigns.journeys import triggers
from rapport.campaigns.models import Enrollment, Plan, SiteMessage
from rapport.commerce.models import CustomerStats
from rapport.commerce.services import upsert_order
from rapport.events.signals import events_recorded
from rapport.segments import services as segment_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def journey(make_plan, make_template, launch):
    def make(trigger: dict, **extra) -> Plan:
        site = make_template("site", subject="Hello", body="Hi {{ customer.name }}")
        plan = make_plan(
            kind="journey",
            segment=extra.pop("segment", None),
            trigger=trigger,
            steps=[
                {
                    "kind": "send",
                    "config": {"channel": "site", "purpose": "service", "variants": [{"template": site.pk}]},
                }
            ],
            **extra,
        )
        return launch(plan)

    return make


def _order(customer, actor, ext, status="completed", days_ago=0):
    return upsert_order(
        data={
            "channel": "web",
            "external_id": ext,
            "customer_id": customer.pk,
            "status": status,
            "placed_at": timezone.now() - dt.timedelta(days=days_ago),
            "lines": [{"sku": "S", "name": "Tea", "quantity": 1, "unit_price": "50.00"}],
        },
        actor=actor,
    )


def test_a_tracked_event_starts_the_journey_once_per_event(journey, make_member, django_capture_on_commit_callbacks):
    plan = journey({"type": "event", "event": "Coupon Viewed"})
    customer = make_member()
    message = SimpleNamespace(customer_id=customer.pk, name="Coupon Viewed", message_id="m-1")
    other = SimpleNamespace(customer_id=customer.pk, name="Page Viewed", message_id="m-2")
    with django_capture_on_commit_callbacks(execute=True):
        events_recorded.send(sender=None, source=None, messages=[message, other])
        events_recorded.send(sender=None, source=None, messages=[message])
    assert Enrollment.objects.filter(plan=plan).count() == 1
    assert SiteMessage.objects.filter(customer=customer).count() == 1


def test_order_completed_and_first_purchase(journey, make_member, system_actor, django_capture_on_commit_callbacks):
    completed = journey({"type": "order_completed"})
    first = journey({"type": "first_purchase"})
    customer = make_member()
    with django_capture_on_commit_callbacks(execute=True):
        _order(customer, system_actor, "o1", status="paid")
    assert Enrollment.objects.filter(plan=first, customer=customer).count() == 1
    assert not Enrollment.objects.filter(plan=completed).exists()
    with django_capture_on_commit_callbacks(execute=True):
        _order(customer, system_actor, "o1", status="completed")
        _order(customer, system_actor, "o2", status="completed")
    assert Enrollment.objects.filter(plan=completed, customer=customer).count() == 2
    assert Enrollment.objects.filter(plan=first, customer=customer).count() == 1


def test_birthday_scan_admits_each_customer_once_a_year(journey, make_member):
    plan = journey({"type": "birthday", "days_before": 3})
    now = dt.datetime(2026, 6, 10, 2, 0, tzinfo=dt.UTC)  # 10 June in Shanghai
    birthday_kid = make_member(birthday="1990-06-13")
    make_member(birthday="1990-06-14")
    assert triggers.scan_all(now=now) == {str(plan.pk): 1}
    assert triggers.scan_all(now=now + dt.timedelta(hours=1)) == {str(plan.pk): 0}
    assert Enrollment.objects.get(plan=plan).customer == birthday_kid


def test_leap_day_birthdays_are_celebrated_on_the_28th_in_other_years(journey, make_member):
    plan = journey({"type": "birthday", "days_before": 0})
    leapling = make_member(birthday="1992-02-29")
    triggers.scan_all(now=dt.datetime(2027, 2, 28, 4, 0, tzinfo=dt.UTC))
    assert list(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [leapling.pk]
    triggers.scan_all(now=dt.datetime(2028, 2, 28, 4, 0, tzinfo=dt.UTC))
    assert Enrollment.objects.filter(plan=plan).count() == 1  # 2028 has a 29th


def test_inactivity_scan_finds_customers_whose_last_order_just_turned_n_days_old(journey, make_member, system_actor):
    plan = journey({"type": "inactivity", "days": 30})
    lapsed, recent, long_gone = make_member(), make_member(), make_member()
    _order(lapsed, system_actor, "a", days_ago=30)
    _order(recent, system_actor, "b", days_ago=5)
    _order(long_gone, system_actor, "c", days_ago=400)
    assert CustomerStats.objects.filter(customer=lapsed).exists()
    triggers.scan_all()
    assert list(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [lapsed.pk]


def test_entering_a_segment_starts_the_journey(journey, make_member, shanghai, system_actor):
    segment_services.take_snapshot(shanghai)
    plan = journey({"type": "segment_entered", "segment": shanghai.pk})
    newcomer = make_member()
    segment_services.take_snapshot(shanghai)
    triggers.scan_all()
    triggers.scan_all()
    assert list(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [newcomer.pk]


def test_abandoned_cart_scan(journey, make_member, monkeypatch):
    plan = journey({"type": "abandoned_cart", "idle_minutes": 30})
    customer = make_member()
    cart_at = timezone.now() - dt.timedelta(minutes=5)

    class Carts:
        def filter(self, **kwargs):
            return self

        def values_list(self, *fields):
            return [(customer.pk, cart_at)]

    monkeypatch.setattr(triggers, "abandoned_carts", lambda now, idle_minutes: Carts())
    triggers.scan_all()
    triggers.scan_all()
    assert Enrollment.objects.get(plan=plan).entry_key.startswith("cart:")


def test_journey_with_a_segment_admits_only_members(
    journey, make_member, make_customer, shanghai, django_capture_on_commit_callbacks
):
    plan = journey({"type": "event", "event": "Signed Up"}, segment=shanghai.pk)
    inside, outside = make_member(), make_customer(name="Elsewhere", city="北京")
    with django_capture_on_commit_callbacks(execute=True):
        events_recorded.send(
            sender=None,
            source=None,
            messages=[
                SimpleNamespace(customer_id=inside.pk, name="Signed Up", message_id="a"),
                SimpleNamespace(customer_id=outside.pk, name="Signed Up", message_id="b"),
            ],
        )
    assert list(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [inside.pk]


def test_an_order_from_any_source_after_the_cart_activity_ends_the_abandoned_cart(
    journey, make_member, admin_api, system_actor
):
    from rapport.events.models import Event
    from rapport.events.services import create_source

    plan = journey({"type": "abandoned_cart", "idle_minutes": 5})
    buyer, browser = make_member(), make_member()
    source = create_source(data={"name": "Shop", "identity_channel": "web"}, actor=system_actor)
    cart_at = timezone.now() - dt.timedelta(minutes=4)
    for customer in (buyer, browser):
        Event.objects.create(
            source=source,
            message_id=f"cart-{customer.pk}",
            type="track",
            name="Product Added",
            customer=customer,
            timestamp=cart_at,
            received_at=cart_at,
        )
    placed = admin_api.post(
        "/api/v1/orders",
        {
            "channel": "web",
            "external_id": "api-1",
            "customer_id": buyer.pk,
            "status": "paid",
            "placed_at": (cart_at + dt.timedelta(minutes=2)).isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Longjing tea", "quantity": 1, "unit_price": "88.50"}],
        },
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    triggers.scan_all(now=timezone.now() + dt.timedelta(minutes=2))
    assert list(Enrollment.objects.filter(plan=plan).values_list("customer_id", flat=True)) == [browser.pk]


def test_carts_are_scanned_at_the_granularity_of_their_idle_time(settings):
    """The shortest idle time is 5 minutes: a scan every minute keeps it within 5 to 6."""
    assert settings.CELERY_BEAT_SCHEDULE["campaigns-scan-triggers"]["schedule"] <= 60
