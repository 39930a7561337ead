"""Stock rules: locations, stock items, and every movement of the append-only ledger.

Each movement and the item's ``on_hand`` are written in one transaction with the item row
locked, so the level always equals the sum of the ledger (``ledger_drift`` proves it). Live
orders move stock through :func:`sync_order` (from the commerce signals); history imports write
orders in bulk without those signals and so move no stock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.models import COUNTED_STATUSES, Order, OrderStatus, Product
from rapport.commerce.queries import product_by_sku
from rapport.commerce.validation import parse_money
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.customers.models import Store
from rapport.events.queries import event_properties
from rapport.inventory import alerts
from rapport.inventory.models import Location, MovementKind, StockItem, StockMovement, StockSubscription
from rapport.inventory.queries import with_stock

DEFAULT_LOCATION = "warehouse"
MAX_QUANTITY = 10_000_000
MANUAL_KINDS = (MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.COUNT)


def default_location() -> Location:
    """The location orders without a store take from (created as the central warehouse)."""
    found = Location.objects.filter(is_default=True).first()
    if found is not None:
        return found
    location, _created = Location.objects.get_or_create(
        code=DEFAULT_LOCATION, defaults={"name": "Central warehouse", "kind": Location.Kind.WAREHOUSE}
    )
    if not Location.objects.filter(is_default=True).exists():
        Location.objects.filter(pk=location.pk).update(is_default=True)
        location.is_default = True
    return location


def location_for_store(store: Store | None) -> Location:
    """The store's own location (made on first use), or the default one for orders without a store."""
    if store is None:
        return default_location()
    location = Location.objects.filter(store=store).first()
    if location is None:
        code = store.code if not Location.objects.filter(code=store.code).exists() else f"store-{store.pk}"
        location = Location.objects.create(code=code, name=store.name, kind=Location.Kind.STORE, store=store)
    return location


def find_location(code: Any) -> Location:
    location = Location.objects.filter(code=str(code or "").strip()).first() if code else default_location()
    if location is None:
        raise NotFound.single("location", "not_found", f"no stock location {code!r}")
    return location


def _locked_item(product_id: int, location: Location) -> StockItem:
    item, _created = StockItem.objects.get_or_create(product_id=product_id, location=location)
    return StockItem.objects.select_for_update().get(pk=item.pk)


def _move(
    item: StockItem, quantity: int, kind: str, actor: Actor, *, order: Order | None = None, note: str = ""
) -> None:
    StockMovement.objects.create(
        item=item, quantity=quantity, kind=kind, order=order, note=note[:200], actor=actor.describe()[:150]
    )
    StockItem.objects.filter(pk=item.pk).update(on_hand=F("on_hand") + quantity)
    item.on_hand += quantity
    alerts.check_low_stock(item_ids=[item.pk])
    if quantity > 0:
        stock_returned([item.product_id])


def stock_returned(product_ids: Iterable[int]) -> int:
    """Mark the waiting back-in-stock subscriptions of those products that have stock again
    returned (one update however many products)."""
    ids = set(product_ids)
    waiting = StockSubscription.objects.filter(product_id__in=ids, returned_at=None)
    if not ids or not waiting.exists():
        return 0
    stocked = (
        StockItem.objects.filter(product_id__in=ids)
        .values("product_id")
        .annotate(total=Sum("on_hand"))
        .filter(total__gt=0)
        .values("product_id")
    )
    return waiting.filter(product_id__in=stocked).update(returned_at=timezone.now())


def _int_field(data: Mapping[str, Any], field: str, errors: list[FieldError], *, low: int, high: int) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(FieldError(field, "invalid", f"a whole number from {low} to {high}"))
        return None
    return value


def clean_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Lead time, reorder quantity and unit cost of a stock item, or ``InvalidInput`` naming each."""
    allowed = {"lead_time_days", "reorder_quantity", "unit_cost", "currency"}
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in allowed]
    cleaned: dict[str, Any] = {}
    lead = _int_field(data, "lead_time_days", errors, low=0, high=365)
    if lead is not None:
        cleaned["lead_time_days"] = lead
    reorder = _int_field(data, "reorder_quantity", errors, low=0, high=MAX_QUANTITY)
    if reorder is not None:
        cleaned["reorder_quantity"] = reorder
    if data.get("unit_cost") not in (None, ""):
        cleaned["unit_cost"] = parse_money(data["unit_cost"], field="unit_cost", errors=errors)
    if data.get("currency"):
        currency = str(data["currency"]).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            errors.append(FieldError("currency", "invalid", "a three-letter currency code"))
        cleaned["currency"] = currency
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def set_item(product: Product, location: Location, *, data: Mapping[str, Any], actor: Actor) -> StockItem:
    """Create or change how a product is stocked at a location (the level moves only by movements)."""
    cleaned = clean_settings(data)
    item = _locked_item(product.pk, location)
    before = {k: str(getattr(item, k)) for k in cleaned}
    for field, value in cleaned.items():
        setattr(item, field, value)
    item.save()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=item,
        changes={"sku": product.sku, "location": location.code, **{k: [before[k], str(v)] for k, v in cleaned.items()}},
    )
    return item


def clean_movement(data: Mapping[str, Any]) -> tuple[str, int, str]:
    """A manual movement: its kind, the quantity (a change, or the counted level for a count) and note."""
    allowed = {"kind", "quantity", "note"}
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in allowed]
    kind = str(data.get("kind") or MovementKind.ADJUSTMENT)
    if kind not in MANUAL_KINDS:
        errors.append(FieldError("kind", "invalid", f"one of: {', '.join(MANUAL_KINDS)}"))
    low = 0 if kind == MovementKind.COUNT else -MAX_QUANTITY
    quantity = _int_field(data, "quantity", errors, low=low, high=MAX_QUANTITY)
    if quantity is None and not any(e.field == "quantity" for e in errors):
        errors.append(FieldError("quantity", "required", "a whole number"))
    note = str(data.get("note") or "").strip()
    if len(note) > 200:
        errors.append(FieldError("note", "too_long", "at most 200 characters"))
    if errors:
        raise InvalidInput(errors)
    assert quantity is not None
    return kind, quantity, note


@transaction.atomic
def record_movement(product: Product, location: Location, *, data: Mapping[str, Any], actor: Actor) -> StockItem:
    """Goods received, a manual adjustment (a signed change) or a count (the level found on the shelf)."""
    kind, quantity, note = clean_movement(data)
    item = _locked_item(product.pk, location)
    change = quantity - item.on_hand if kind == MovementKind.COUNT else quantity
    if kind == MovementKind.RECEIPT and change <= 0:
        raise InvalidInput.single("quantity", "invalid", "goods received are a positive quantity")
    if change == 0:
        if kind != MovementKind.COUNT:
            raise InvalidInput.single("quantity", "invalid", "a change of zero moves nothing")
        return item
    _move(item, change, kind, actor, note=note)
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=item,
        changes={"sku": product.sku, "location": location.code, "kind": kind, "quantity": change, "note": note},
    )
    return item


def _tracked(product_ids: set[int]) -> set[int]:
    return set(StockItem.objects.filter(product_id__in=product_ids).values_list("product_id", flat=True))


def _order_target(order: Order) -> dict[int, int]:
    """What the order should have taken from stock by now, per product (negative quantities)."""
    target: dict[int, int] = defaultdict(int)
    if order.status in COUNTED_STATUSES and order.status != OrderStatus.REFUNDED:
        for product_id, quantity in order.lines.values_list("product_id", "quantity"):
            if product_id is not None:
                target[product_id] -= quantity
    return target


@transaction.atomic
def sync_order(order: Order, *, actor: Actor) -> int:
    """Bring the order's movements in line with it: a sale when it is paid, back as a return when it
    is cancelled or wholly refunded, the difference when its lines change. Only products whose stock
    is kept (with a stock item somewhere) move. Returns the number of movements written."""
    target = _order_target(order)
    tracked = _tracked(set(target))
    taken = dict(
        StockMovement.objects.filter(order=order).values_list("item_id").annotate(total=Sum("quantity")).order_by()
    )
    if not tracked and not taken:
        return 0  # no stock kept for anything in it: no location is made either
    location = location_for_store(order.store)
    wanted = {_locked_item(product_id, location).pk: target[product_id] for product_id in tracked}
    written = 0
    for item_id in sorted(set(wanted) | set(taken)):
        change = wanted.get(item_id, 0) - (taken.get(item_id) or 0)
        if change:
            item = StockItem.objects.select_for_update().get(pk=item_id)
            _move(item, change, MovementKind.SALE if change < 0 else MovementKind.RETURN, actor, order=order)
            written += 1
    return written


def ledger_drift() -> list[tuple[int, int, int]]:
    """Stock items whose level differs from the sum of their movements: (item, on hand, ledger sum)."""
    sums = dict(StockMovement.objects.values_list("item_id").annotate(total=Sum("quantity")).order_by())
    return [
        (pk, on_hand, sums.get(pk) or 0)
        for pk, on_hand in StockItem.objects.values_list("pk", "on_hand")
        if on_hand != (sums.get(pk) or 0)
    ]


def opening_stock(rows: Sequence[tuple[int, Location, int, Decimal | None]], *, actor: Actor) -> int:
    """Set-based first stock: items with a received movement each, for new items only (the demo shop)."""
    items = StockItem.objects.bulk_create(
        [
            StockItem(product_id=pid, location=loc, on_hand=qty, unit_cost=cost, reorder_quantity=max(qty // 2, 1))
            for pid, loc, qty, cost in rows
        ],
        batch_size=1000,
    )
    StockMovement.objects.bulk_create(
        [
            StockMovement(item=item, quantity=item.on_hand, kind=MovementKind.RECEIPT, actor=actor.describe()[:150])
            for item in items
            if item.on_hand
        ],
        batch_size=1000,
    )
    return len(items)


BACK_IN_STOCK_EVENT = "Back In Stock Requested"


def subscribe_back_in_stock(customer_id: int, product: Product, *, source: str) -> StockSubscription:
    """Ask to hear when a sold-out product is back; asking again while waiting changes nothing.
    A product in stock (or whose stock is not kept here) cannot be waited for."""
    if not with_stock(Product.objects.filter(pk=product.pk)).filter(out_of_stock=True).exists():
        raise InvalidInput.single("sku", "in_stock", f"{product.sku} is not out of stock")
    waiting = StockSubscription.objects.filter(customer_id=customer_id, product=product, returned_at=None).first()
    if waiting is not None:
        return waiting
    try:
        with transaction.atomic():
            return StockSubscription.objects.create(
                customer_id=customer_id, product=product, source=source, created_at=timezone.now()
            )
    except IntegrityError:  # a concurrent request subscribed first: the constraint keeps one
        return StockSubscription.objects.get(customer_id=customer_id, product=product, returned_at=None)


def subscribe_from_events(messages: Sequence[Any]) -> int:
    """Tracked ``Back In Stock Requested`` events of known customers (property ``sku``) subscribe
    them; unknown SKUs and products in stock are passed over (a tracking call is never refused)."""
    asked = [m for m in messages if getattr(m, "name", "") == BACK_IN_STOCK_EVENT and getattr(m, "customer_id", None)]
    if not asked:
        return 0
    stored = event_properties([m.message_id for m in asked if not m.properties])
    made = 0
    for message in asked:
        properties = message.properties or stored.get(message.message_id, {})
        product = product_by_sku(str(properties.get("sku") or "").strip())
        if product is None:
            continue
        try:
            subscribe_back_in_stock(message.customer_id, product, source=StockSubscription.Source.TRACKING)
        except InvalidInput:
            continue
        made += 1
    return made
