"""Stock levels: one row a product at a store or warehouse, with the level counted there and how it
is replenished (lead time, reorder quantity, unit cost).

Rows are checked here (the SKU and the location known, whole numbers in range, the settings by the
stock API's own :func:`~rapport.inventory.services.clean_settings`), then the chunk is written by
:func:`rapport.inventory.levels.set_levels`, which keeps the ledger's rule: the level moves only
by movements (an opening one for an item without history, a count for the difference otherwise).
A location is a stock location's code or a store's code; blank is the default warehouse.
"""

from __future__ import annotations

import re
from typing import Any

from rapport.commerce.models import Product
from rapport.core.errors import FieldError, InvalidInput
from rapport.imports import engine
from rapport.imports import mapping as m
from rapport.inventory.levels import LevelRow, Locations, set_levels
from rapport.inventory.services import MAX_QUANTITY, clean_settings

KEY_FIELD = "sku"
FIELDS = ["sku", "location", "on_hand", "lead_time_days", "reorder_quantity", "unit_cost", "currency"]
ALIASES: dict[str, list[str]] = {
    "sku": [*m.ALIASES[m.PRODUCTS]["sku"], "商品编码", "货号"],
    "location": [
        "location_code",
        "warehouse",
        "warehouse_code",
        "store",
        "store_code",
        "仓库",
        "仓库编码",
        "门店",
        "门店编码",
        "库位",
    ],
    "on_hand": [
        "quantity",
        "qty",
        "stock",
        "in_stock",
        "库存",
        "库存数量",
        "现有库存",
        "在库数量",
        "实际库存",
        "盘点数量",
    ],
    "lead_time_days": ["lead_time", "补货周期", "采购周期", "交货期", "到货天数"],
    "reorder_quantity": ["reorder_qty", "补货数量", "订货量", "再订货量"],
    "unit_cost": ["cost", "成本", "单位成本", "成本价", "进价"],
    "currency": ["币种", "货币"],
}
_WHOLE = re.compile(r"^\d+(\.0*)?$")  # spreadsheets may write a count as 12.0
_LIMITS = {"on_hand": MAX_QUANTITY, "lead_time_days": 365, "reorder_quantity": MAX_QUANTITY}


def _whole(values: dict[str, str], name: str, errors: list[FieldError]) -> int | None:
    text = values.get(name, "").replace(",", "")
    if not text:
        return None
    if not _WHOLE.match(text) or int(float(text)) > _LIMITS[name]:
        errors.append(FieldError(name, "invalid", f"a whole number from 0 to {_LIMITS[name]}"))
        return None
    return int(float(text))


class StockMerger(engine.Merger):
    """Stock levels and settings, a chunk at a time; each (SKU, location) once per file."""

    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.locations = Locations()

    def key_of(self, unit: list[engine.Row]) -> tuple[str, ...] | None:
        values = self.values(unit[0][1])
        return (values["sku"], str(self.locations.find(values.get("location", "")))) if values.get("sku") else None

    def clean(
        self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome
    ) -> list[tuple[list[engine.Row], LevelRow]]:
        rows = [(unit, self.values(unit[0][1])) for unit in chunk]
        products = dict(
            Product.objects.filter(sku__in={v["sku"] for _u, v in rows if v.get("sku")}).values_list("sku", "pk")
        )
        good = []
        for unit, values in rows:
            outcome.rows += 1
            line = unit[0][0]
            row, errors = self._row(values, products)
            if row is not None and (first := self.keys.first_line((values["sku"], str(row.location_id)), line)):
                errors = [engine._duplicate_error("sku", f"{values['sku']} @ {values.get('location', '')}", first)]
            if errors or row is None:
                outcome.reject(unit, [(line, e) for e in errors])
                continue
            good.append((unit, row))
        return good

    def _row(self, values: dict[str, str], products: dict[str, int]) -> tuple[LevelRow | None, list[FieldError]]:
        errors: list[FieldError] = []
        sku = values.get("sku", "")
        product_id = products.get(sku)
        if not sku:
            errors.append(FieldError("sku", "required", "the product's SKU is missing"))
        elif product_id is None:
            errors.append(FieldError("sku", "not_found", f"no product {sku!r}: import the products first"))
        location_id = self.locations.find(values.get("location", ""))
        if location_id is None:
            errors.append(FieldError("location", "not_found", f"no stock location or store {values['location']!r}"))
        on_hand = _whole(values, "on_hand", errors)
        given: dict[str, Any] = {k: _whole(values, k, errors) for k in ("lead_time_days", "reorder_quantity")}
        given.update({k: values.get(k, "") for k in ("unit_cost", "currency")})
        try:
            settings = clean_settings({k: v for k, v in given.items() if v not in (None, "")})
        except InvalidInput as exc:
            errors.extend(exc.errors)
            settings = {}
        if on_hand is None and not settings and not errors:
            errors.append(FieldError("on_hand", "required", "the level on hand, or a setting to change"))
        if errors or product_id is None or location_id is None:
            return None, errors
        return LevelRow(product_id, location_id, on_hand, settings), []

    def write(self, cleaned: list[tuple[list[engine.Row], LevelRow]], outcome: engine.ChunkOutcome) -> None:
        results = set_levels([row for _unit, row in cleaned], actor=self.actor, note=self.history_label())
        for result in results:
            setattr(outcome, result, getattr(outcome, result) + 1)

    def merge(self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome) -> None:
        with self.clock.phase("cleaning"):
            cleaned = self.clean(chunk, outcome)
        with self.clock.phase("merging"):
            self.write(cleaned, outcome)


MERGER = StockMerger
