"""Plug-in for the segment rule property test (``rapport/segments/tests/test_properties.py``):
random levels, balances and coupons per customer, and random ``loyalty_level``,
``asset_balance`` and ``coupon_state`` conditions, so SQL and the reference evaluator are
compared on them too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from rapport.loyalty.models import (
    Account,
    BenefitCard,
    CardType,
    Coupon,
    CouponKind,
    CouponTemplate,
    Level,
    Membership,
)

AMOUNTS = st.sampled_from(
    [Decimal("0"), Decimal("0.01"), Decimal("99.99"), Decimal("100"), Decimal("1000"), Decimal("2500.50")]
)
STATES = ("issued", "redeemed", "expired", "void")
CARD_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CARD_DAYS = (0, 100, 151, 400, 788, 789)  # starts on and around the test's moments (2026-06-01, 2027-02-28, 2028-02-29)


class LoyaltyPlugin:
    def setup(self, world: Any) -> None:
        world.extra["levels"] = [
            Level.objects.create(name=name, rank=rank, threshold=Decimal(rank * 1000))
            for rank, name in enumerate(("Silver", "Gold", "金卡"), start=1)
        ]
        world.extra["coupon_templates"] = [
            CouponTemplate.objects.create(
                name=f"T{i}", kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("5"), valid_days=9
            )
            for i in range(2)
        ]
        world.extra["card_types"] = [CardType.objects.create(name=f"Card {i}") for i in range(2)]

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries(
            {
                "level": st.none() | st.sampled_from(world.extra["levels"]).map(lambda level: level.pk),
                "balances": st.dictionaries(st.sampled_from(("points", "principal", "bonus")), AMOUNTS, max_size=3),
                "coupons": st.lists(
                    st.tuples(
                        st.sampled_from([t.pk for t in world.extra["coupon_templates"]]), st.sampled_from(STATES)
                    ),
                    max_size=3,
                ),
                # (card type, start, end, cancelled) around the moments the test evaluates at
                "cards": st.dictionaries(
                    st.sampled_from([t.pk for t in world.extra["card_types"]]),
                    st.tuples(st.sampled_from(CARD_DAYS), st.sampled_from((1, 30, 400, 1000)), st.booleans()),
                    max_size=2,
                ),
            }
        )

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        Membership.objects.bulk_create(
            Membership(customer_id=pk, level_id=data["level"]) for pk, data in pairs if data["level"] is not None
        )
        Account.objects.bulk_create(
            Account(customer_id=pk, asset=asset, balance=balance)
            for pk, data in pairs
            for asset, balance in data["balances"].items()
        )
        Coupon.objects.bulk_create(
            Coupon(
                template_id=template_id,
                code=f"P{pk}X{index}",
                customer_id=pk,
                status=status,
                issued_at=moment,
            )
            for pk, data in pairs
            for index, (template_id, status) in enumerate(data["coupons"])
        )

        BenefitCard.objects.bulk_create(
            BenefitCard(
                customer_id=pk,
                card_type_id=type_id,
                starts_at=CARD_EPOCH + dt.timedelta(days=start),
                ends_at=CARD_EPOCH + dt.timedelta(days=start + length),
                cancelled_at=CARD_EPOCH if cancelled else None,
            )
            for pk, data in pairs
            for type_id, (start, length, cancelled) in data["cards"].items()
        )

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        level_refs = [ref for level in world.extra["levels"] for ref in (level.pk, level.name)]
        number = AMOUNTS.map(str)
        return {
            "loyalty_level": st.builds(
                lambda op, levels: {"type": "loyalty_level", "op": op, "levels": levels},
                st.sampled_from(("in", "not_in")),
                st.lists(st.sampled_from(level_refs), min_size=1, max_size=3),
            ),
            "asset_balance": st.one_of(
                st.builds(
                    lambda asset, op, value: {"type": "asset_balance", "asset": asset, "op": op, "value": value},
                    st.sampled_from(("points", "stored_value")),
                    st.sampled_from(("eq", "neq", "gt", "gte", "lt", "lte")),
                    number,
                ),
                st.builds(
                    lambda asset, low, high: {
                        "type": "asset_balance",
                        "asset": asset,
                        "op": "between",
                        "value": sorted([low, high], key=Decimal),
                    },
                    st.sampled_from(("points", "stored_value")),
                    number,
                    number,
                ),
            ),
            "coupon_state": st.builds(
                lambda op, status, template: {"type": "coupon_state", "op": op, "status": status, "template": template},
                st.sampled_from(("has", "has_none")),
                st.sampled_from(STATES),
                st.none() | st.sampled_from([t.pk for t in world.extra["coupon_templates"]]),
            ),
            "benefit_card": st.builds(
                lambda op, card_type: {"type": "benefit_card", "op": op, "card_type": card_type},
                st.sampled_from(("has", "has_none")),
                st.none() | st.sampled_from([t.pk for t in world.extra["card_types"]]),
            ),
        }


PLUGIN = LoyaltyPlugin()
