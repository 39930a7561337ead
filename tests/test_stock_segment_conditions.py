"""The marketing loop's segment conditions: customers who bought or viewed products now low in
stock, and customers whose recommendations include a category; SQL and the reference evaluator
agree, and bad input names its field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.commerce import services as commerce
from rapport.core.errors import InvalidInput
from rapport.events.models import Event, Source
from rapport.inventory import services as inventory
from rapport.inventory.models import StockPlan
from rapport.recommendations.models import Recommendation
from rapport.segments.compiler import members, reference_members

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_customer, system_actor):
    tea_category = commerce.save_category(data={"code": "tea", "name": "Tea"}, actor=system_actor)
    low = commerce.upsert_product(
        data={"sku": "TEA-1", "name": "Longjing", "price": "88", "category": "tea"}, actor=system_actor
    )[0]
    plenty = commerce.upsert_product(data={"sku": "CUP-1", "name": "Cup", "price": "20"}, actor=system_actor)[0]
    buyer, viewer, other = make_customer(), make_customer(), make_customer()
    for customer, sku, ext in ((buyer, "TEA-1", "o1"), (other, "CUP-1", "o2")):
        commerce.upsert_order(
            data={
                "channel": "web",
                "external_id": ext,
                "customer_id": customer.pk,
                "status": "paid",
                "placed_at": (timezone.now() - dt.timedelta(days=3)).isoformat(),
                "lines": [{"sku": sku, "quantity": 1, "unit_price": "10"}],
            },
            actor=system_actor,
        )
    source = Source.objects.create(name="web", identity_channel="web", write_key="k", write_key_hash="h")
    Event.objects.create(
        source=source,
        message_id="v1",
        type="track",
        name="Product Viewed",
        customer=viewer,
        timestamp=timezone.now() - dt.timedelta(days=1),
        received_at=timezone.now(),
        properties={"sku": "TEA-1"},
    )
    location = inventory.default_location()
    for product in (low, plenty):
        item = inventory.record_movement(
            product, location, data={"kind": "receipt", "quantity": 20}, actor=system_actor
        )
        StockPlan.objects.create(item=item, reorder_point=10, computed_at=timezone.now())
    inventory.record_movement(low, location, data={"quantity": -15}, actor=system_actor)  # 5: low, warned
    Recommendation.objects.create(customer=other, items={"products": [plenty.pk, low.pk]}, computed_at=timezone.now())
    Recommendation.objects.create(customer=buyer, items={"products": [plenty.pk]}, computed_at=timezone.now())
    assert tea_category.code == "tea"
    return [buyer, viewer, other]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "low_stock_interest", "via": "bought", "days": 30}, [0]),
        ({"type": "low_stock_interest", "via": "viewed", "days": 30}, [1]),
        ({"type": "low_stock_interest", "via": "either", "days": 30}, [0, 1]),
        ({"type": "low_stock_interest", "via": "either", "days": 1}, []),
        ({"type": "recommended_category", "category": "tea", "top": 2}, [2]),
        ({"type": "recommended_category", "category": "tea", "top": 1}, []),
    ],
)
def test_sql_and_reference_agree(shop, rule, expected):
    ids = [c.pk for c in shop]
    selected = set(members(rule).filter(pk__in=ids).values_list("pk", flat=True))
    assert selected == {ids[i] for i in expected}
    assert reference_members(rule, now=timezone.now(), customer_ids=ids) == selected


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"type": "low_stock_interest", "via": "sold", "days": 30}, "via"),
        ({"type": "low_stock_interest", "via": "bought", "days": 0}, "days"),
        ({"type": "recommended_category", "category": "nope", "top": 5}, "category"),
        ({"type": "recommended_category", "category": "tea", "top": 31}, "top"),
    ],
)
def test_bad_conditions_name_their_field(shop, rule, field):
    with pytest.raises(InvalidInput) as caught:
        members(rule)
    assert caught.value.errors[0].field.endswith(field)
