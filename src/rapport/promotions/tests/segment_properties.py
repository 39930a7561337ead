"""Plug-in for the segment rule property test (``rapport/segments/tests/test_properties.py``):
random promotion uses (some given back in full by a refund) and personal promotions granted around
the test's moments, and random ``promotion_used`` and ``personal_promotion`` conditions, so SQL and
the reference evaluator are compared on them too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from rapport.promotions.models import Audience, PersonalPromotion, Promotion, PromotionKind, PromotionUse

# The moments the property test evaluates at, and offsets around them (hours).
MOMENTS = (
    dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC),
    dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 29, 0, 0, tzinfo=dt.UTC),
)
HOURS = (-24 * 31, -24 * 30, -24 * 7 - 1, -73, -72, -1, 0, 1, 72)
LENGTHS = (1, 72, 24 * 30)


class PromotionsPlugin:
    def setup(self, world: Any) -> None:
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        world.extra["promotions"] = [
            Promotion.objects.create(
                code=code,
                name=code,
                kind=PromotionKind.FULL_REDUCTION,
                starts_at=start,
                tiers=[{"threshold": "199", "amount_off": "30"}],
                audience=audience,
                is_active=active,
            )
            for code, audience, active in (
                ("spring", Audience.EVERYONE, True),
                ("lapsed-gold", Audience.PERSONAL, True),
                ("paused", Audience.PERSONAL, False),
            )
        ]

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        ids = st.sampled_from([p.pk for p in world.extra["promotions"]])
        moment = st.sampled_from(MOMENTS)
        hours = st.sampled_from(HOURS)
        return st.fixed_dictionaries(
            {
                # (promotion, moment, hours from it, given back in full)
                "uses": st.lists(st.tuples(ids, moment, hours, st.booleans()), max_size=3),
                # (promotion, moment, hours from it, length in hours)
                "grants": st.lists(st.tuples(ids, moment, hours, st.sampled_from(LENGTHS)), max_size=3),
            }
        )

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        uses = PromotionUse.objects.bulk_create(
            PromotionUse(
                promotion_id=promotion_id,
                customer_id=pk,
                key=f"checkout:{pk}:{index}",
                amount=Decimal("30.00"),
                reversed_amount=Decimal("30.00") if refunded else Decimal("0.00"),
            )
            for pk, data in pairs
            for index, (promotion_id, _moment, _hours, refunded) in enumerate(data["uses"])
        )
        moments = [
            moment + dt.timedelta(hours=hours)
            for _pk, data in pairs
            for _promotion, moment, hours, _refunded in data["uses"]
        ]
        for use, created_at in zip(uses, moments, strict=True):
            use.created_at = created_at  # auto_now_add set it to the real time on insert
        PromotionUse.objects.bulk_update(uses, ["created_at"])
        PersonalPromotion.objects.bulk_create(
            PersonalPromotion(
                promotion_id=promotion_id,
                customer_id=pk,
                key=f"plan:1:step:1:enrollment:{pk}{index}",
                valid_from=moment + dt.timedelta(hours=hours),
                valid_until=moment + dt.timedelta(hours=hours + length),
            )
            for pk, data in pairs
            for index, (promotion_id, moment, hours, length) in enumerate(data["grants"])
        )

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        refs = st.none() | st.sampled_from([ref for p in world.extra["promotions"] for ref in (p.pk, p.code)])
        return {
            "promotion_used": st.builds(
                lambda op, promotion, window: {
                    "type": "promotion_used",
                    "op": op,
                    "promotion": promotion,
                    "window_days": window,
                },
                st.sampled_from(("did", "did_not")),
                refs,
                st.none() | st.sampled_from((1, 3, 7, 30)),
            ),
            "personal_promotion": st.builds(
                lambda op, promotion: {"type": "personal_promotion", "op": op, "promotion": promotion},
                st.sampled_from(("has", "has_none")),
                refs,
            ),
        }


PLUGIN = PromotionsPlugin()
