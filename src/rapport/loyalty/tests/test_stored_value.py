from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import SpendOrder, TopUpBonus
from rapport.loyalty.services import stored_value
from rapport.loyalty.services.program import program_settings


@pytest.fixture
def tiers(db: object) -> None:
    TopUpBonus.objects.create(minimum=Decimal("500"), bonus=Decimal("40"))
    TopUpBonus.objects.create(minimum=Decimal("1000"), bonus=Decimal("100"))


def test_top_up_adds_the_bonus_of_the_highest_tier(member: Customer, tiers: None, system_actor: Actor) -> None:
    movement = stored_value.top_up(member, amount="1000", key="t1", actor=system_actor)
    again = stored_value.top_up(member, amount="1000", key="t1", actor=system_actor)
    assert movement == again
    assert stored_value.balance(member.pk) == {
        "principal": Decimal("1000"),
        "bonus": Decimal("100"),
        "total": Decimal("1100"),
    }


def test_spend_takes_bonus_first_by_default(member: Customer, tiers: None, system_actor: Actor) -> None:
    stored_value.top_up(member, amount="1000", key="t1", actor=system_actor)
    movement = stored_value.spend(member, amount="150", key="s1", actor=system_actor)
    assert movement.bonus is not None and movement.bonus.amount == Decimal("-100")
    assert movement.principal is not None and movement.principal.amount == Decimal("-50")


def test_spend_order_is_configurable(member: Customer, tiers: None, system_actor: Actor) -> None:
    program = program_settings()
    program.stored_value_spend_order = SpendOrder.PRINCIPAL_FIRST
    program.save()
    stored_value.top_up(member, amount="1000", key="t1", actor=system_actor)
    movement = stored_value.spend(member, amount="150", key="s1", actor=system_actor)
    assert movement.bonus is None and movement.principal is not None


def test_overspending_is_refused_whole(member: Customer, tiers: None, system_actor: Actor) -> None:
    stored_value.top_up(member, amount="100", key="t1", actor=system_actor)
    with pytest.raises(Conflict) as caught:
        stored_value.spend(member, amount="100.01", key="s1", actor=system_actor)
    assert caught.value.errors[0].field == "stored_value"
    assert stored_value.balance(member.pk)["total"] == Decimal("100")


def test_refund_pays_principal_and_forfeits_the_same_share_of_bonus(
    member: Customer, tiers: None, system_actor: Actor
) -> None:
    stored_value.top_up(member, amount="1000", key="t1", actor=system_actor)
    stored_value.refund_principal(member, amount="500", key="r1", reason="Moving abroad", actor=system_actor)
    assert stored_value.balance(member.pk) == {
        "principal": Decimal("500"),
        "bonus": Decimal("50"),
        "total": Decimal("550"),
    }
    with pytest.raises(Conflict):
        stored_value.refund_principal(member, amount="501", key="r2", reason="x", actor=system_actor)
    with pytest.raises(InvalidInput):
        stored_value.refund_principal(member, amount="1", key="r3", reason="", actor=system_actor)


def test_bad_amounts_name_the_field(member: Customer, system_actor: Actor) -> None:
    for bad in ("-1", "abc", "1.234", "0"):
        with pytest.raises(InvalidInput) as caught:
            stored_value.top_up(member, amount=bad, key=f"bad-{bad}", actor=system_actor)
        assert caught.value.errors[0].field == "amount"
