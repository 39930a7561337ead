"""One case for both ways an event is stored (by the request, or by the resolver from staging):
its properties, traits and context must come out as the request gave them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapport.events.models import Event

_LIBRARY = {"library": {"name": "analytics.js"}}


def _track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Product Viewed", "messageId": message_id, "userId": "u1", **fields}


def send_messages_with_objects(send: Callable[[dict[str, Any]], Any]) -> None:
    """Two requests: missing, null and nested objects, a batch context, traits inside context."""
    send(
        {
            "context": {**_LIBRARY, "locale": "zh-CN"},
            "batch": [
                _track("plain", properties={"sku": "TEA-1", "price": 12.5}, context={"locale": "en-GB"}),
                _track("nulls", properties=None, traits=None, context=None),
                {"type": "page", "anonymousId": "v1", "messageId": "in-context", "context": {"traits": {"vip": True}}},
            ],
        }
    )
    send({"batch": [_track("bare"), _track("unicode", properties={"城市": "上海", "quote": "a \\ b\t\n"})]})


def assert_objects_as_given() -> None:
    """Missing or null objects became {}, the batch's context sits under each message's own, and
    context.traits stood in for traits."""
    events = {e.message_id: e for e in Event.objects.all()}
    assert events["plain"].properties == {"sku": "TEA-1", "price": 12.5}
    assert events["plain"].context == {**_LIBRARY, "locale": "en-GB"}
    assert (events["nulls"].properties, events["nulls"].traits) == ({}, {})
    assert events["nulls"].context == {**_LIBRARY, "locale": "zh-CN"}
    assert events["in-context"].traits == {"vip": True}
    assert (events["bare"].properties, events["bare"].traits, events["bare"].context) == ({}, {}, {})
    assert events["unicode"].properties == {"城市": "上海", "quote": "a \\ b\t\n"}
