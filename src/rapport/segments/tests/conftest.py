"""Segment test fixtures: a small shop with customers in two cities and a few orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from rapport.commerce.services import save_category, upsert_order, upsert_product
from rapport.segments import services
from rapport.segments.models import Segment

SHANGHAI_RULE = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}


@pytest.fixture
def shop(make_customer: Any, system_actor: Any, store: Any) -> dict[str, Any]:
    """Amy and Cai in 上海, Bob in 北京; Amy bought tea twice, Bob a mug once."""
    save_category(data={"code": "tea", "name": "Tea"}, actor=system_actor)
    upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88", "category": "tea"}, actor=system_actor)
    people = {
        "amy": make_customer(
            name="Amy",
            gender="female",
            birthday="1990-06-02",
            city="上海",
            store="sh-01",
            phone="13912345678",
            email="amy@example.com",
        ),
        "bob": make_customer(name="Bob", gender="male", birthday="2000-01-01", city="北京", phone="13800001111"),
        "cai": make_customer(name="Cai", city="上海"),
    }
    now = timezone.now()
    for who, ext, total, days_ago in (
        ("amy", "a1", "120.00", 5),
        ("amy", "a2", "80.00", 40),
        ("bob", "b1", "30.00", 9),
    ):
        upsert_order(
            data={
                "channel": "web",
                "external_id": ext,
                "customer_id": people[who].pk,
                "status": "completed",
                "placed_at": now - dt.timedelta(days=days_ago),
                "lines": [{"sku": "TEA-1", "name": "Tea", "quantity": 1, "unit_price": total}],
            },
            actor=system_actor,
        )
    return people


@pytest.fixture
def shanghai(shop: dict[str, Any], system_actor: Any) -> Segment:
    return services.save_segment(data={"name": "上海", "rule": SHANGHAI_RULE}, actor=system_actor)
