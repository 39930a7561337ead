"""A ticket's history in words: each event's action as a translated phrase and its data as
"label: value" with statuses, priorities and categories by their labels, never a dict."""

from __future__ import annotations

from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.audit.readable import value_text
from rapport.service.models import Ticket, TicketEvent

ACTIONS: dict[str, Any] = {
    "created": _("Ticket created"),
    "assigned": _("Assigned"),
    "status": _("Status changed"),
    "replied": _("Replied"),
    "note": _("Internal note"),
    "reopened": _("Reopened"),
    "changed": _("Details changed"),
    "merged_into": _("Merged into another ticket"),
    "merged_from": _("Another ticket merged in"),
    "sla_warning": _("SLA deadline near"),
    "sla_breached": _("SLA target missed"),
    "escalated": _("Escalated"),
    "goodwill": _("Goodwill given"),
}

KEYS: dict[str, Any] = {
    "from": _("from"),
    "to": _("to"),
    "target": _("target"),
    "reason": _("reason"),
    "points": _("points"),
    "coupon": _("coupon"),
    "channel": _("channel"),
    "source": _("source"),
    "due": _("due"),
    "auto": _("automatic"),
}
TARGETS: dict[str, Any] = {"first_response": _("first response"), "resolution": _("resolution")}


def _value(key: str, value: Any) -> str:
    """A value by its label where the ticket's model names it (status, priority, category, channel)."""
    for name in ("status", "priority", "category", "channel"):
        model_field = Ticket._meta.get_field(name)
        choices = dict(getattr(model_field, "flatchoices", None) or ())
        if isinstance(value, str) and value in choices and (key in (name, "from", "to")):
            return str(choices[value])
    if key == "target" and value in TARGETS:
        return str(TARGETS[value])
    return value_text(value)


def describe(event: TicketEvent) -> tuple[str, str]:
    """(what happened, its details) for one event."""
    action = str(ACTIONS.get(event.action, capfirst(event.action.replace("_", " "))))
    data = event.data if isinstance(event.data, dict) else {}
    details = "; ".join(
        f"{KEYS.get(key, key.replace('_', ' '))}: {_value(key, value)}"
        for key, value in data.items()
        if value not in (None, "")
    )
    return action, details
