"""Stock levels set in bulk: what a stock file (the imports' ``stock`` kind) writes, a chunk at a time.

A row names a product and a location and gives the level found there (a count) and/or how the
item is replenished (lead time, reorder quantity, unit cost). The level moves only by movements,
as everywhere else: an item without any movement gets an ``opening`` movement of its level, an item
with history a ``count`` movement of the difference, and a level equal to the one on hand writes
nothing, so the same file twice changes nothing and ``on_hand`` stays the sum of the ledger.

The chunk's items are created in one multi-row insert, locked in primary-key order (so a live
order's :func:`~rapport.inventory.services.sync_order` waits instead of interleaving), and written
with one multi-row insert of movements and one update that sets each moved item's level to the sum
of its ledger (settings that changed: one bulk update). Warnings and waiting
back-in-stock subscriptions then follow the new levels, as they do after a count in the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.customers.models import Store
from rapport.inventory import alerts
from rapport.inventory.models import Location, MovementKind, StockItem, StockMovement
from rapport.inventory.services import default_location, location_for_store, stock_returned

SETTINGS = ("lead_time_days", "reorder_quantity", "unit_cost", "currency")


@dataclass
class LevelRow:
    """One product at one location: the level counted (None: not given) and the settings to set."""

    product_id: int
    location_id: int
    on_hand: int | None
    settings: dict[str, Any] = field(default_factory=dict)


class Locations:
    """Location ids by the code a file gives: a location's own code, else a store's code (its
    location made on first use); blank is the default location. Looked up once per code."""

    def __init__(self) -> None:
        self._by_code: dict[str, int] = dict(Location.objects.values_list("code", "pk"))

    def find(self, code: str) -> int | None:
        code = code.strip()
        if not code:
            return default_location().pk
        if code not in self._by_code:
            store = Store.objects.filter(code=code).first()
            if store is None:
                return None
            self._by_code[code] = location_for_store(store).pk
        return self._by_code[code]


def _locked_items(rows: Sequence[LevelRow]) -> dict[tuple[int, int], StockItem]:
    """The rows' stock items, made where missing (with the row's settings) and locked in id order."""
    wanted = {(r.product_id, r.location_id): r for r in rows}
    products, places = {p for p, _l in wanted}, {loc for _p, loc in wanted}
    scope = Q(product_id__in=products, location_id__in=places)
    have = set(StockItem.objects.filter(scope).values_list("product_id", "location_id"))
    StockItem.objects.bulk_create(
        [
            StockItem(product_id=p, location_id=loc, **wanted[(p, loc)].settings)
            for p, loc in wanted
            if (p, loc) not in have
        ],
        batch_size=1000,
        ignore_conflicts=True,  # made meanwhile by a live order or another import: lock that one
    )
    locked = StockItem.objects.select_for_update().filter(scope).order_by("pk")
    return {(i.product_id, i.location_id): i for i in locked if (i.product_id, i.location_id) in wanted}


def set_levels(rows: Sequence[LevelRow], *, actor: Actor, note: str = "") -> list[str]:
    """Write the rows (call inside a transaction); answer per row ``created``, ``updated`` or
    ``unchanged``. Each (product, location) at most once in ``rows``."""
    had_items = set(
        StockItem.objects.filter(
            product_id__in={r.product_id for r in rows}, location_id__in={r.location_id for r in rows}
        ).values_list("product_id", "location_id")
    )
    items = _locked_items(rows)
    with_history = set(
        StockMovement.objects.filter(item_id__in=[i.pk for i in items.values()])
        .values_list("item_id", flat=True)
        .distinct()
    )
    now, by = timezone.now(), actor.describe()[:150]
    movements: list[StockMovement] = []
    resettled: list[StockItem] = []
    outcomes: list[str] = []
    for row in rows:
        item = items[(row.product_id, row.location_id)]
        new = (row.product_id, row.location_id) not in had_items
        differs = {k: v for k, v in row.settings.items() if getattr(item, k) != v}
        if differs:
            for key, value in differs.items():
                setattr(item, key, value)
            item.updated_at = now
            resettled.append(item)
        change = 0 if row.on_hand is None else row.on_hand - item.on_hand
        if change:
            kind = MovementKind.COUNT if item.pk in with_history else MovementKind.OPENING
            movements.append(StockMovement(item=item, quantity=change, kind=kind, note=note[:200], actor=by))
        outcomes.append("created" if new else "updated" if change or differs else "unchanged")
    StockItem.objects.bulk_update(resettled, [*SETTINGS, "updated_at"], batch_size=500)
    StockMovement.objects.bulk_create(movements, batch_size=1000)
    moved = [m.item_id for m in movements]
    # the moved items' levels become the sum of their ledger, in one statement
    ledger = StockMovement.objects.filter(item=OuterRef("pk")).order_by().values("item").annotate(s=Sum("quantity"))
    StockItem.objects.filter(pk__in=moved).update(on_hand=Subquery(ledger.values("s")[:1]), updated_at=now)
    changed = {*moved, *(i.pk for i in resettled)}
    if changed:
        alerts.check_low_stock(item_ids=changed)
    stock_returned(m.item.product_id for m in movements if m.quantity > 0)
    return outcomes
