"""The ``message_engagement`` condition: what a customer did with the messages plans sent them::

    {"type": "message_engagement", "op": "did_not", "action": "opened",
     "plan": 12, "channel": "email", "window_days": 7}

"received" is a message sent (or delivered) to the customer; "opened" and "clicked" are the
tracked opens and clicks of such a message. The window and the plan pick the messages (those sent
in the last ``window_days`` days, of that plan); ``did_not`` holds for a customer sent none.

It reads the campaigns' message table; it lives with the behaviour conditions until the
campaigns app (being split this round) publishes a queries module to register it from there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.models import ChannelKind, Message, Plan
from rapport.segments import operators as ops
from rapport.segments.conditions import DID, WINDOW, model_entity, window_start
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
)

ACTIONS = {"received": "sent_at", "opened": "opened_at", "clicked": "clicked_at"}
ACTION_LABELS = (("received", _("received")), ("opened", _("opened")), ("clicked", _("clicked")))


class MessageEngagementCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op, action = condition.get("op"), condition.get("action")
        if op not in ("did", "did_not"):
            raise ops.fail(f"{path}.op", "one of: did, did_not")
        if action not in ACTIONS:
            raise ops.fail(f"{path}.action", f"one of: {', '.join(ACTIONS)}")
        plan, channel = condition.get("plan"), condition.get("channel") or ""
        if plan is not None:
            if not isinstance(plan, int) or isinstance(plan, bool):
                raise ops.fail(f"{path}.plan", "a plan id")
            if not Plan.objects.filter(pk=plan).exists():
                raise ops.fail(f"{path}.plan", f"no plan #{plan}", code="not_found")
        if channel and channel not in ChannelKind.values:
            raise ops.fail(f"{path}.channel", f"one of: {', '.join(ChannelKind.values)}")
        window = ops.clean_window(condition, path)
        return {"op": op, "action": action, "plan": plan, "channel": channel, "window_days": window}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        messages = Message.objects.filter(customer=OuterRef("pk"), sent_at__isnull=False)
        messages = messages.filter(**{f"{ACTIONS[condition['action']]}__isnull": False})
        if condition["plan"] is not None:
            messages = messages.filter(plan_id=condition["plan"])
        if condition["channel"]:
            messages = messages.filter(channel=condition["channel"])
        start = window_start(condition.get("window_days"), context.now)
        if start is not None:
            messages = messages.filter(sent_at__gte=start)
        did = Q(Exists(messages))
        return did if condition["op"] == "did" else ~did

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """How many of the chosen messages the customer received, opened or clicked."""
        start = window_start(condition.get("window_days"), context.now)
        moment = ACTIONS[condition["action"]]
        return sum(
            1
            for message in facts["messages"]
            if message["sent_at"] is not None
            and message[moment] is not None
            and condition["plan"] in (None, message["plan_id"])
            and condition["channel"] in ("", message["channel"])
            and (start is None or message["sent_at"] >= start)
        )

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        did = self.actual(condition, facts, context) > 0
        return did if condition["op"] == "did" else not did


def _message_facts(ids: list[int]) -> dict[int, Any]:
    sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = Message.objects.filter(customer_id__in=ids, sent_at__isnull=False).values(
        "customer_id", "plan_id", "channel", "sent_at", "opened_at", "clicked_at"
    )
    for row in rows:
        sent[row["customer_id"]].append(dict(row))
    return {pk: sent.get(pk, []) for pk in ids}


def register() -> None:
    register_entity(
        model_entity(
            "plan",
            _("Operation plan"),
            lambda: Plan.objects.order_by("-created_at", "-id"),
            permission="campaigns.view_plan",
        )
    )
    register_facts("messages", _message_facts)
    register_condition(
        MessageEngagementCondition(
            "message_engagement",
            _("Messages received, opened or clicked"),
            facts=("messages",),
            fields=(
                Field("op", _("Test"), "choice", choices=DID),
                Field("action", _("Action"), "choice", choices=ACTION_LABELS),
                Field("plan", _("Plan"), "integer", required=False, entity="plan"),
                Field("channel", _("Channel"), "choice", required=False, choices=tuple(ChannelKind.choices)),
                WINDOW,
            ),
        )
    )
