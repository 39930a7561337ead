"""``/api/v1/events``: read behaviour events (writes come through the tracking API at ``/v1``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rapport.accounts.scopes import CUSTOMERS_READ
from rapport.core.api import require
from rapport.core.listing import page_body, paginate
from rapport.events import personal
from rapport.events.models import Event
from rapport.events.queries import filter_events, visible_events

router = Router(tags=["events"], exclude_unset=True)


def event_body(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event.type,
        "name": event.name,
        "customer_id": event.customer_id,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "message_id": event.message_id,
        "timestamp": event.timestamp,
        "received_at": event.received_at,
        "properties": personal.masked(event.properties),
        "traits": personal.masked(event.traits),
        "context": event.context,
    }


@router.get("/events", response={200: dict[str, Any]}, summary="Behaviour events, newest first")
def list_events(
    request: HttpRequest,
    name: str = "",
    type: str = "",
    source: str = "",
    customer: str = "",
    property: str = "",
    value: str = "",
    since: str = "",
    until: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Filter by event name, type, source name, customer id, a property's value and time."""
    require(request, CUSTOMERS_READ, "events.view_event")
    params = {
        "name": name,
        "type": type,
        "source": source,
        "customer": customer,
        "property": property,
        "value": value,
        "since": since,
        "until": until,
    }
    page = paginate(filter_events(visible_events(request.user), params), limit=limit, offset=offset)
    return page_body(page, [event_body(e) for e in page.items])
