"""Reading events: the explorer's filters, a customer's timeline, abandoned carts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from rapport.accounts.services import customer_scope
from rapport.commerce import queries as order_queries
from rapport.core import pii
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.listing import within_time_bounds
from rapport.customers.models import Customer
from rapport.events import personal
from rapport.events.ecommerce import CART_EVENTS, ORDER_COMPLETED
from rapport.events.models import Event, EventType, Source


def visible_events(user: Any) -> QuerySet[Event]:
    """Events of customers in the user's scope; unscoped roles also see anonymous events."""
    events = Event.objects.all()
    scope = customer_scope(user)
    if scope:
        events = events.filter(customer_id__in=Customer.objects.filter(scope).values("pk"))
    return events


def filter_events(events: QuerySet[Event], params: Mapping[str, Any]) -> QuerySet[Event]:
    """Filter by ``name``, ``type``, ``source``, ``customer``, ``user_id``, ``anonymous_id``,
    a property (``property`` = ``value``) and time (``since``, ``until``)."""
    errors: list[FieldError] = []
    if params.get("name"):
        events = events.filter(name=str(params["name"]).strip())
    if params.get("type"):
        if params["type"] not in EventType.values:
            errors.append(FieldError("type", "invalid", f"one of: {', '.join(EventType.values)}"))
        events = events.filter(type=params["type"])
    if params.get("source"):
        source_id = Source.objects.filter(name=params["source"]).values_list("pk", flat=True).first()
        if source_id is None:
            errors.append(FieldError("source", "not_found", f"no source {params['source']!r}"))
        events = events.filter(source_id=source_id or 0)
    if params.get("customer"):
        try:
            events = events.filter(customer_id=int(params["customer"]))
        except (TypeError, ValueError):
            errors.append(FieldError("customer", "invalid", "a customer id is a whole number"))
    for key in ("user_id", "anonymous_id"):
        if params.get(key):
            events = events.filter(**{key: params[key]})
    if params.get("property"):
        key = str(params["property"]).strip()
        if not key.replace("_", "").replace(".", "").isalnum():
            errors.append(FieldError("property", "invalid", "a property name of letters, digits, _ and ."))
        else:
            path = "properties__" + "__".join(key.split("."))
            value = params.get("value")
            if value in (None, ""):
                events = events.filter(**{f"{path}__isnull": False})
            elif personal.is_personal_key(key.split(".")[-1]):  # sealed: equal blind indexes, and only those
                index = personal.index_for(key.split(".")[-1], str(value))
                events = events.filter(**{f"{path}__{pii.SEALED_INDEX}": index}) if index else events.none()
            else:
                events = events.filter(**{path: _json_value(str(value))})
    events = within_time_bounds(events, params, field="timestamp", after="since", before="until", errors=errors)
    if errors:
        raise InvalidInput(errors)
    return events


def _json_value(text: str) -> Any:
    """A property value typed in a form: numbers and booleans match JSON numbers and booleans."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def abandoned_carts(
    now: dt.datetime | None = None, idle_minutes: int | None = None, lookback_days: int = 30
) -> QuerySet[Customer]:
    """Customers whose latest cart activity (Product Added, Cart Viewed, Checkout Started) is
    older than the idle time, with no order since: neither an Order Completed event nor an order
    from any other source (API, import, console, POS). Annotated with ``cart_at``."""
    now = now or timezone.now()
    minutes = idle_minutes if idle_minutes is not None else settings.RAPPORT_ABANDONED_CART_MINUTES
    recent_carts = Event.objects.filter(
        name__in=CART_EVENTS, customer_id__isnull=False, timestamp__gte=now - dt.timedelta(days=lookback_days)
    )
    latest_cart = (
        Event.objects.filter(customer_id=OuterRef("pk"), name__in=CART_EVENTS)
        .order_by("-timestamp")
        .values("timestamp")
    )
    ordered_since = Event.objects.filter(
        customer_id=OuterRef("pk"), name=ORDER_COMPLETED, timestamp__gte=OuterRef("cart_at")
    )
    return (
        Customer.objects.filter(pk__in=recent_carts.values("customer_id"))
        .annotate(cart_at=Subquery(latest_cart[:1]))
        .filter(cart_at__lte=now - dt.timedelta(minutes=minutes))
        .filter(~Exists(ordered_since))
        .filter(~Exists(order_queries.placed_since(OuterRef("pk"), OuterRef("cart_at"))))
    )


PRODUCT_EVENTS = ("Product Viewed", "Product Added")


def product_events(since: dt.datetime) -> Iterator[tuple[int, str, str, dt.datetime]]:
    """(customer id, event name, SKU, time) of known customers' product views and cart adds since
    ``since``: the behaviour the recommendations learn from beside purchases."""
    rows = Event.objects.filter(name__in=PRODUCT_EVENTS, customer__isnull=False, timestamp__gte=since)
    for customer_id, name, properties, at in rows.values_list(
        "customer_id", "name", "properties", "timestamp"
    ).iterator(chunk_size=5000):
        sku = properties.get("sku") if isinstance(properties, dict) else None
        if sku:
            yield customer_id, name, str(sku), at


def event_properties(message_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored properties of events by message id (the resolver's messages carry none)."""
    if not message_ids:
        return {}
    rows = Event.objects.filter(message_id__in=list(message_ids)).values_list("message_id", "properties")
    return {message_id: properties for message_id, properties in rows if isinstance(properties, dict)}


def product_views(since: Any) -> QuerySet[Event]:
    """``Product Viewed`` events since ``since`` (their property ``sku`` names the product), for
    conditions that correlate them with a customer (``.filter(customer=OuterRef("pk"), …)``)."""
    return Event.objects.filter(name="Product Viewed", timestamp__gte=since)


def viewed_skus(customer_ids: Sequence[int], since: Any) -> dict[int, set[str]]:
    """The SKUs each customer viewed since ``since`` (for the segments' reference evaluator)."""
    found: dict[int, set[str]] = {pk: set() for pk in customer_ids}
    rows = product_views(since).filter(customer_id__in=list(customer_ids)).values_list("customer_id", "properties")
    for customer_id, properties in rows:
        if isinstance(properties, dict) and properties.get("sku"):
            found[customer_id].add(str(properties["sku"]))
    return found
