"""The segment property test's plug-in for the ``consent`` condition (random decisions per
customer) and the ``member_code`` condition (random member codes and card numbers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from rapport.customers.models import Consent, ConsentChannel, ConsentPurpose, Identity

# Two channels are enough to mix decided, undecided and both purposes' defaults.
CHANNELS = (ConsentChannel.EMAIL, ConsentChannel.SMS)
KEYS = [(channel, purpose) for channel in CHANNELS for purpose in ConsentPurpose.values]
CODE_KINDS = ("member_card", "member_code")
CODES = ("M0001", "m0001", "8801", "88012", "卡01")


class ConsentPlugin:
    def setup(self, world: Any) -> None:
        pass

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries(
            {
                "consents": st.dictionaries(st.sampled_from(KEYS), st.booleans(), max_size=len(KEYS)),
                "codes": st.dictionaries(st.sampled_from(CODE_KINDS), st.sampled_from(CODES), max_size=2),
            }
        )

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        Consent.objects.bulk_create(
            Consent(
                customer_id=pk, channel=channel, purpose=purpose, granted=granted, source="system", updated_at=moment
            )
            for pk, data in pairs
            for (channel, purpose), granted in data["consents"].items()
        )
        # a code is one customer's: the same code under one kind goes to the first who drew it
        taken: set[tuple[str, str]] = set()
        identities = []
        for pk, data in pairs:
            for kind, code in data["codes"].items():
                if (kind, code) not in taken:
                    taken.add((kind, code))
                    identities.append(Identity(customer_id=pk, channel=kind, external_id=code))
        Identity.objects.bulk_create(identities)

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        return {
            "consent": st.builds(
                lambda key, granted: {"type": "consent", "channel": key[0], "purpose": key[1], "granted": granted},
                st.sampled_from(KEYS),
                st.booleans(),
            ),
            "member_code": st.builds(
                lambda kind, op, code: {"type": "member_code", "channel": kind, "op": op, "value": code},
                st.sampled_from(("", *CODE_KINDS)),
                st.sampled_from(("eq", "contains", "is_set", "is_not_set")),
                st.sampled_from((*CODES, "M0", "88", "卡")),
            ),
        }


PLUGIN = ConsentPlugin()
