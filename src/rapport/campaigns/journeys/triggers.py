"""What starts a journey: tracked events, orders, segment entries, dates, inactivity and loyalty.

For a signal (events recorded, order saved) this only finds the journeys listening;
:mod:`rapport.campaigns.receivers` enqueues the entries, so ingestion and order writes stay fast and
the job runs after their commit. Scans (abandoned carts, segment entries, birthdays, inactivity, and
points or a coupon about to expire and level changes, which :mod:`rapport.loyalty.queries` reads,
and products back in stock, from :mod:`rapport.inventory.queries`)
run on a schedule and are idempotent: each entry has a key (the cart's time, the snapshot, the
year, the last order's date, the day, the coupon, the change) and the enrollment's unique
constraint admits it once.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from rapport.campaigns.journeys import engine
from rapport.campaigns.models import Plan
from rapport.commerce.models import COUNTED_STATUSES, CustomerStats, Order, OrderStatus
from rapport.customers.models import Customer
from rapport.events.queries import abandoned_carts
from rapport.inventory import queries as inventory_queries
from rapport.loyalty import queries as loyalty_queries
from rapport.segments.models import SegmentSnapshot
from rapport.segments.services import changes_of

CACHE_SECONDS = 10.0
INACTIVITY_GRACE = dt.timedelta(days=2)
_listening: tuple[float, frozenset[str]] = (0.0, frozenset())


def forget() -> None:
    """Plans started or stopped: look the listening trigger types up again."""
    global _listening
    _listening = (0.0, frozenset())


def listening_types() -> frozenset[str]:
    """Trigger types of running journeys, remembered for a few seconds (receivers run per write)."""
    global _listening
    expires, types = _listening
    if time.monotonic() < expires:
        return types
    types = frozenset(
        str(t)
        for t in Plan.objects.filter(status=Plan.Status.RUNNING, kind=Plan.Kind.JOURNEY).values_list(
            "trigger__type", flat=True
        )
    )
    _listening = (time.monotonic() + CACHE_SECONDS, types)
    return types


def _journeys(trigger_type: str, **match: Any) -> list[int]:
    lookups = {f"trigger__{key}": value for key, value in match.items()}
    return list(
        Plan.objects.filter(status=Plan.Status.RUNNING, kind=Plan.Kind.JOURNEY, trigger__type=trigger_type, **lookups)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# Who enters, when a signal arrives (campaigns.receivers enqueues them) ---------------------------

# (running journeys listening, entries as [customer id, entry key, context]) pairs
Arrivals = list[tuple[list[int], list[list[Any]]]]


def arrivals_for_events(messages: Any) -> Arrivals:
    """Tracked events, by name, for the journeys that listen to that event."""
    if "event" not in listening_types():
        return []
    by_name: dict[str, list[list[Any]]] = defaultdict(list)
    for message in messages:
        if message.customer_id and message.name:
            by_name[message.name].append(
                [message.customer_id, f"event:{message.message_id}"[:80], {"event": message.name}]
            )
    return [(_journeys("event", event=name), entries) for name, entries in by_name.items()]


def arrivals_for_order(order: Order, previous_status: str) -> Arrivals:
    """A completed order, and a customer's first counted purchase."""
    if order.customer_id is None:
        return []
    arrivals: Arrivals = []
    listening = listening_types()
    if (
        "order_completed" in listening
        and order.status == OrderStatus.COMPLETED
        and previous_status != OrderStatus.COMPLETED
    ):
        arrivals.append((_journeys("order_completed"), [[order.customer_id, f"order:{order.pk}", {"order": order.pk}]]))
    newly_counted = order.is_counted and previous_status not in COUNTED_STATUSES
    if "first_purchase" in listening and newly_counted:
        counted = Order.objects.counted().filter(customer_id=order.customer_id).count()
        if counted == 1:
            arrivals.append((_journeys("first_purchase"), [[order.customer_id, "first_purchase", {"order": order.pk}]]))
    return arrivals


# Scheduled scans ------------------------------------------------------------------------------


def _scan_abandoned_carts(plan: Plan, now: dt.datetime) -> int:
    idle = int(plan.trigger.get("idle_minutes") or settings.RAPPORT_ABANDONED_CART_MINUTES)
    since = (plan.launched_at or now) - dt.timedelta(minutes=idle)
    carts = abandoned_carts(now, idle_minutes=idle).filter(cart_at__gte=since).values_list("pk", "cart_at")  # type: ignore[misc]
    entries = [
        engine.Entry(pk, f"cart:{cart_at:%Y%m%d%H%M%S}", {"cart_at": cart_at.isoformat()}) for pk, cart_at in carts
    ]
    return engine.enroll_entries(plan, entries, now=now)


def _scan_segment(plan: Plan, now: dt.datetime) -> int:
    cursor = int(plan.trigger_cursor.get("snapshot") or 0)
    launched = plan.launched_at or now
    entered = 0
    for snapshot in SegmentSnapshot.objects.filter(
        segment_id=plan.trigger.get("segment"), pk__gt=cursor, taken_at__gte=launched
    ).order_by("pk"):
        customers = Customer.objects.filter(pk__in=changes_of(snapshot, "entered").values("customer_id"))
        entered += engine.enroll(
            plan, engine.in_audience(plan, customers, now), entry_key=f"segment:{snapshot.pk}", now=now
        )
        cursor = snapshot.pk
    Plan.objects.filter(pk=plan.pk).update(trigger_cursor={**plan.trigger_cursor, "snapshot": cursor})
    return entered


def birthday_customers(day: dt.date) -> Q:
    """Born on ``day``'s month and day; those born on 29 February celebrate on the 28th in other years."""
    match = Q(birthday__month=day.month, birthday__day=day.day)
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    if day.month == 2 and day.day == 28 and not leap:
        match |= Q(birthday__month=2, birthday__day=29)
    return match


def _scan_birthdays(plan: Plan, now: dt.datetime) -> int:
    today = now.astimezone(zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)).date()
    day = today + dt.timedelta(days=int(plan.trigger.get("days_before") or 0))
    customers = engine.in_audience(plan, Customer.objects.filter(birthday_customers(day)), now)
    return engine.enroll(plan, customers, entry_key=f"birthday:{day.year}", now=now)


def _scan_inactivity(plan: Plan, now: dt.datetime) -> int:
    """Customers whose last purchase just turned N days old (within a grace of two days)."""
    cutoff = now - dt.timedelta(days=int(plan.trigger["days"]))
    lapsed: dict[dt.date, list[int]] = defaultdict(list)
    for customer_id, last_order_at in CustomerStats.objects.filter(
        last_order_at__lte=cutoff, last_order_at__gt=cutoff - INACTIVITY_GRACE
    ).values_list("customer_id", "last_order_at"):
        if last_order_at is not None:
            lapsed[last_order_at.date()].append(customer_id)
    entered = 0
    for day, ids in lapsed.items():
        customers = engine.in_audience(plan, Customer.objects.filter(pk__in=ids), now)
        entered += engine.enroll(plan, customers, entry_key=f"inactive:{day.isoformat()}", now=now)
    return entered


def _days_ahead(plan: Plan, now: dt.datetime) -> dt.date:
    return (now + dt.timedelta(days=int(plan.trigger.get("days_before") or 0))).date()


def _scan_points_expiring(plan: Plan, now: dt.datetime) -> int:
    day = _days_ahead(plan, now)
    customers = loyalty_queries.customers_with_points_expiring_on(day)
    return engine.enroll(plan, engine.in_audience(plan, customers, now), entry_key=f"points:{day.isoformat()}", now=now)


def _scan_coupon_expiring(plan: Plan, now: dt.datetime) -> int:
    entries = [
        engine.Entry(customer_id, f"coupon:{pk}", {"coupon_id": pk})
        for pk, customer_id in loyalty_queries.coupons_expiring_on(_days_ahead(plan, now))
    ]
    return engine.enroll_entries(plan, entries, now=now)


def _scan_level_changes(plan: Plan, now: dt.datetime) -> int:
    cursor = int(plan.trigger_cursor.get("level_change") or 0)
    changes = loyalty_queries.level_changes_after(cursor, since=plan.launched_at or now)
    entries = [
        engine.Entry(customer_id, f"level:{pk}", {"level_change": reason}) for pk, customer_id, reason in changes
    ]
    entered = engine.enroll_entries(plan, entries, now=now)
    if changes:
        Plan.objects.filter(pk=plan.pk).update(trigger_cursor={**plan.trigger_cursor, "level_change": changes[-1][0]})
    return entered


BACK_IN_STOCK_LOOKBACK = dt.timedelta(days=7)


def _scan_back_in_stock(plan: Plan, now: dt.datetime) -> int:
    """Customers whose awaited product came back (read from :mod:`rapport.inventory.queries`) since
    the journey started, within a week: each subscription enters once (its entry key)."""
    since = max(plan.launched_at or now, now - BACK_IN_STOCK_LOOKBACK)
    entries = [
        engine.Entry(customer_id, f"restock:{pk}", {"product_sku": sku, "product_name": name})
        for pk, customer_id, sku, name in inventory_queries.back_in_stock_since(since)
    ]
    return engine.enroll_entries(plan, entries, now=now)


SCANS = {
    "abandoned_cart": _scan_abandoned_carts,
    "segment_entered": _scan_segment,
    "birthday": _scan_birthdays,
    "inactivity": _scan_inactivity,
    "points_expiring": _scan_points_expiring,
    "coupon_expiring": _scan_coupon_expiring,
    "level_changed": _scan_level_changes,
    "back_in_stock": _scan_back_in_stock,
}


def scan_all(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every running journey's scheduled trigger; answer entries per plan id."""
    now = now or timezone.now()
    entered: dict[str, int] = {}
    for plan in Plan.objects.filter(status=Plan.Status.RUNNING, kind=Plan.Kind.JOURNEY).select_related("segment"):
        scan = SCANS.get(str(plan.trigger.get("type")))
        if scan is not None:
            entered[str(plan.pk)] = scan(plan, now)
    return entered
