from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import Level
from rapport.loyalty.services import coupons, levels, points, stored_value
from rapport.loyalty.tests.factories import coupon_template
from rapport.segments.compiler import members, reference_members


@pytest.fixture
def population(
    make_customer: Callable[..., Customer], levels: list[Level], system_actor: Actor, no_expiry: None
) -> list[Customer]:
    rich, saver, plain = make_customer(), make_customer(), make_customer()
    points.award(rich, points=5000, key="r", actor=system_actor)
    levels_set(rich, levels[1], system_actor)
    stored_value.top_up(saver, amount="300", key="s", actor=system_actor)
    coupons.issue(coupon_template(), saver, key="c", actor=system_actor)
    return [rich, saver, plain]


def levels_set(customer: Customer, level: Level, actor: Actor) -> None:
    levels.set_level(customer, level=level, reason="test", actor=actor)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "loyalty_level", "op": "in", "levels": ["Gold"]}, [0]),
        ({"type": "loyalty_level", "op": "not_in", "levels": ["Gold"]}, [1, 2]),
        ({"type": "asset_balance", "asset": "points", "op": "gte", "value": 1000}, [0]),
        ({"type": "asset_balance", "asset": "points", "op": "eq", "value": 0}, [1, 2]),
        ({"type": "asset_balance", "asset": "stored_value", "op": "between", "value": [100, 500]}, [1]),
        ({"type": "coupon_state", "op": "has", "status": "issued"}, [1]),
        ({"type": "coupon_state", "op": "has_none", "status": "issued"}, [0, 2]),
    ],
)
def test_sql_and_reference_agree(population: list[Customer], rule: dict[str, Any], expected: list[int]) -> None:
    ids = [c.pk for c in population]
    selected = set(members(rule).filter(pk__in=ids).values_list("pk", flat=True))
    assert selected == {ids[i] for i in expected}
    assert reference_members(rule, now=timezone.now(), customer_ids=ids) == selected


def test_bad_conditions_name_the_part(levels: list[Level]) -> None:
    with pytest.raises(InvalidInput) as caught:
        members({"type": "asset_balance", "asset": "gold", "op": "gt", "value": 1})
    assert caught.value.errors[0].field.endswith("asset")
    with pytest.raises(InvalidInput):
        members({"type": "loyalty_level", "op": "in", "levels": ["Platinum"]})
