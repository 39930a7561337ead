"""Every idempotent write of the loyalty API: the same key and the same request returns the first
result; the same key asking for something else (another amount, sign, card, coupon…) is a 409."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.loyalty.models import CardType, Entry, Redemption
from rapport.loyalty.services import points, stored_value

JSON = "application/json"


def _post(api: Client, url: str, body: dict[str, Any]) -> Any:
    return api.post(url, body, content_type=JSON)


def _ids(body: dict[str, Any]) -> list[int]:
    """The written rows a body names: its own id, or its entries' (stored value movements)."""
    return [body["id"]] if "id" in body else [entry["id"] for entry in body["entries"]]


def _same_then_changed(api: Client, url: str, body: dict[str, Any], **changed: Any) -> None:
    first = _post(api, url, body)
    assert first.status_code == 201, first.json()
    again = _post(api, url, body)
    assert again.status_code == 201 and _ids(again.json()) == _ids(first.json())
    for field, value in changed.items():
        refused = _post(api, url, {**body, field: value})
        assert refused.status_code == 409, (field, refused.json())
        assert refused.json()["errors"][0] == {
            "field": "idempotency_key",
            "code": "reused",
            "message": "This idempotency key was already used for a different request.",
        }


def test_checkout_redeem_refuses_the_same_key_with_another_amount(
    admin_api: Client, member: Customer, system_actor: Actor
) -> None:
    stored_value.top_up(member, amount="100", key="t", actor=system_actor)
    points.award(member, points=5000, key="p", actor=system_actor)
    body = {
        "customer": member.pk,
        "cart": {"total": "200.00"},
        "idempotency_key": "K",
        "order_reference": "88123",
        "stored_value": "10.00",
    }
    _same_then_changed(
        admin_api,
        "/api/v1/loyalty/checkout/redeem",
        body,
        stored_value="11.00",
        points=100,
        order_reference="88124",
        cart={"total": "210.00"},
    )
    assert Redemption.objects.count() == 1
    assert stored_value.balance(member.pk)["total"] == Decimal("90.00")


@pytest.mark.parametrize(
    ("path", "body", "changed"),
    [
        ("points/spend", {"points": 10}, {"points": 11}),
        ("points/award", {"points": 10}, {"points": 11}),
        ("adjustments", {"asset": "points", "delta": "5", "reason": "r"}, {"delta": "-5"}),
        ("stored-value/top-ups", {"amount": "50.00"}, {"amount": "51.00"}),
        ("stored-value/refunds", {"amount": "5.00", "reason": "moving away"}, {"amount": "6.00"}),
    ],
)
def test_ledger_writes_refuse_the_same_key_for_another_request(
    admin_api: Client, member: Customer, system_actor: Actor, path: str, body: dict[str, Any], changed: dict[str, Any]
) -> None:
    points.award(member, points=100, key="p", actor=system_actor)
    stored_value.top_up(member, amount="100", key="t", actor=system_actor)
    before = Entry.objects.count()
    url = f"/api/v1/loyalty/customers/{member.pk}/{path}"
    _same_then_changed(admin_api, url, {**body, "idempotency_key": "K"}, **changed)
    assert Entry.objects.count() - before in (1, 2)  # one movement (a top-up or refund may touch the bonus too)


def test_a_card_key_refuses_another_card_or_price(admin_api: Client, member: Customer) -> None:
    club = CardType.objects.create(name="Club", price=Decimal("99"), validity_days=365)
    other = CardType.objects.create(name="Other", price=Decimal("0"), validity_days=30)
    url = f"/api/v1/loyalty/customers/{member.pk}/cards"
    _same_then_changed(
        admin_api, url, {"card_type": club.pk, "idempotency_key": "K"}, card_type=other.pk, amount_paid="10.00"
    )
