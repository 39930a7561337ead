"""Fifty checkouts on PostgreSQL record the same capped promotion at once: exactly the total cap
succeeds, the rest get a clear conflict, the counter never passes the cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.promotions.models import Promotion, PromotionKind, PromotionUse
from rapport.promotions.pricing import CartLine
from rapport.promotions.services import Shopper, create_promotion, price_cart, record_uses
from rapport.testing.concurrency import run_at_once

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
THREADS = 50


def test_a_total_usage_cap_is_never_exceeded_under_concurrent_checkouts() -> None:
    actor = Actor.system("shop")
    create_promotion(
        {
            "code": "FIRST-TEN",
            "name": "满300减30, the first ten orders",
            "kind": PromotionKind.FULL_REDUCTION,
            "starts_at": timezone.now() - timedelta(hours=1),
            "tiers": [{"threshold": "300", "amount_off": "30"}],
            "total_limit": 10,
        },
        actor=actor,
    )
    # every checkout quoted while uses were left, then all record at once
    quotes = [price_cart([CartLine("TEE", 1, Decimal("300"))], shopper=Shopper()) for _ in range(THREADS)]
    results = run_at_once(
        [
            lambda i=i, priced=priced: record_uses(
                priced, customer_id=None, order_id=None, key=f"checkout-{i}", actor=actor
            )
            for i, priced in enumerate(quotes)
        ]
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(f, Conflict) and f.errors[0].code == "cap_reached" for f in failures), failures
    assert len(results) - len(failures) == 10
    assert Promotion.objects.get().times_used == 10
    assert PromotionUse.objects.count() == 10
