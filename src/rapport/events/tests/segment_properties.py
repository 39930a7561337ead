"""Plug-in for the segment rule property test (``rapport/segments/tests/test_properties.py``):
random messages of two plans per customer (sent or not, opened, clicked, around the test's
moments) and random ``message_engagement`` conditions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from rapport.campaigns.models import Message, Plan

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SENT_DAYS = (None, 0, 120, 144, 151, 400, 420, 788)  # around 2026-06-01, 2027-02-28 and 2028-02-29
CHANNELS = ("email", "sms")


class MessagePlugin:
    def setup(self, world: Any) -> None:
        world.extra["plans"] = [Plan.objects.create(name=f"Plan {i}") for i in range(2)]

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        message = st.tuples(
            st.sampled_from([plan.pk for plan in world.extra["plans"]]),
            st.sampled_from(CHANNELS),
            st.sampled_from(SENT_DAYS),
            st.booleans(),
            st.booleans(),
        )
        return st.lists(message, max_size=3)

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        rows = []
        for pk, messages in pairs:
            for plan_id, channel, sent_day, opened, clicked in messages:
                sent = None if sent_day is None else EPOCH + dt.timedelta(days=sent_day, hours=3)
                rows.append(
                    Message(
                        plan_id=plan_id,
                        customer_id=pk,
                        channel=channel,
                        status="planned" if sent is None else "sent",
                        not_before=EPOCH,
                        created_at=EPOCH,
                        sent_at=sent,
                        opened_at=sent + dt.timedelta(hours=1) if sent and opened else None,
                        clicked_at=sent + dt.timedelta(hours=2) if sent and clicked else None,
                    )
                )
        Message.objects.bulk_create(rows)

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        return {
            "message_engagement": st.builds(
                lambda op, action, plan, channel, window: {
                    "type": "message_engagement",
                    "op": op,
                    "action": action,
                    "plan": plan,
                    "channel": channel,
                    "window_days": window,
                },
                st.sampled_from(("did", "did_not")),
                st.sampled_from(("received", "opened", "clicked")),
                st.none() | st.sampled_from([plan.pk for plan in world.extra["plans"]]),
                st.sampled_from(("", *CHANNELS)),
                st.none() | st.sampled_from((1, 7, 30, 90, 365)),
            )
        }


PLUGIN = MessagePlugin()
