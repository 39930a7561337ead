"""Plug-in for the segment rule property test (``rapport/segments/tests/test_properties.py``): the
shared catalogue gets stock, with an open low-stock warning on TEA-1 and a closed one on MUG-1,
and random ``low_stock_interest`` conditions are checked against the customers' random orders and
``Product Viewed`` events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from rapport.inventory.models import LowStockAlert, StockItem
from rapport.inventory.services import default_location

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class StockPlugin:
    def setup(self, world: Any) -> None:
        location = default_location()
        items = {sku: StockItem.objects.create(product_id=pk, location=location) for sku, pk in world.products.items()}
        LowStockAlert.objects.create(item=items["TEA-1"], on_hand=0, reorder_point=5, opened_at=EPOCH)
        LowStockAlert.objects.create(
            item=items["MUG-1"], on_hand=1, reorder_point=5, opened_at=EPOCH, closed_at=EPOCH + dt.timedelta(days=1)
        )

    def customer_data(self, world: Any) -> st.SearchStrategy[Any]:
        return st.none()

    def save(self, world: Any, pairs: list[tuple[int, Any]]) -> None:
        pass

    def conditions(self, world: Any) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        return {
            "low_stock_interest": st.builds(
                lambda via, days: {"type": "low_stock_interest", "via": via, "days": days},
                st.sampled_from(("bought", "viewed", "either")),
                st.sampled_from((1, 30, 90, 365, 3650)),
            )
        }


PLUGIN = StockPlugin()
