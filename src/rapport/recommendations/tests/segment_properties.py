"""Plug-in for the segment rule property test (``rapport/segments/tests/test_properties.py``):
a random stored recommendation list (or none) per customer over the shared catalogue, the first
product (by SKU) overstocked at the default location, and random ``recommended_category`` and
``recommended_overstock`` conditions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from rapport.commerce.models import Category
from rapport.inventory.models import StockItem, StockPlan
from rapport.inventory.services import default_location
from rapport.recommendations.models import Recommendation

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class RecommendationPlugin:
    def setup(self, world: Any) -> None:
        first = world.products[min(world.products)]
        item, _created = StockItem.objects.get_or_create(product_id=first, location=default_location())
        StockItem.objects.filter(pk=item.pk).update(on_hand=50)
        StockPlan.objects.create(item=item, horizon_demand=10, safety_stock=5, computed_at=EPOCH)

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        products = sorted(world.products.values())
        return st.none() | st.lists(st.sampled_from(products), unique=True, max_size=len(products))

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        Recommendation.objects.bulk_create(
            Recommendation(customer_id=pk, items={"products": ranked}, computed_at=EPOCH)
            for pk, ranked in pairs
            if ranked is not None
        )

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        codes = sorted(Category.objects.values_list("code", flat=True))
        return {
            "recommended_category": st.builds(
                lambda code, top: {"type": "recommended_category", "category": code, "top": top},
                st.sampled_from(codes),
                st.sampled_from((1, 2, 3, 30)),
            ),
            "recommended_overstock": st.builds(
                lambda code, top: {"type": "recommended_overstock", "category": code, "top": top},
                st.sampled_from(("", *codes)),
                st.sampled_from((1, 2, 3, 30)),
            ),
        }


PLUGIN = RecommendationPlugin()
