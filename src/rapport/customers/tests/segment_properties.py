"""The segment property test's plug-in for the ``consent`` condition: random decisions per customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from rapport.customers.models import Consent, ConsentChannel, ConsentPurpose

# Two channels are enough to mix decided, undecided and both purposes' defaults.
CHANNELS = (ConsentChannel.EMAIL, ConsentChannel.SMS)
KEYS = [(channel, purpose) for channel in CHANNELS for purpose in ConsentPurpose.values]


class ConsentPlugin:
    def setup(self, world: Any) -> None:
        pass

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        return st.dictionaries(st.sampled_from(KEYS), st.booleans(), max_size=len(KEYS))

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        Consent.objects.bulk_create(
            Consent(
                customer_id=pk, channel=channel, purpose=purpose, granted=granted, source="system", updated_at=moment
            )
            for pk, decisions in pairs
            for (channel, purpose), granted in decisions.items()
        )

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        return {
            "consent": st.builds(
                lambda key, granted: {"type": "consent", "channel": key[0], "purpose": key[1], "granted": granted},
                st.sampled_from(KEYS),
                st.booleans(),
            )
        }


PLUGIN = ConsentPlugin()
