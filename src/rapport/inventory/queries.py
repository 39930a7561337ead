"""Reading stock, for this app's pages and API and for other apps (recommendations).

A product whose stock is not kept here (no stock item anywhere) counts as available: the shop
manages it elsewhere. A kept product is out of stock when its levels add up to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from rapport.core.errors import FieldError, InvalidInput
from rapport.inventory.models import Location, StockItem, StockMovement

STATUSES = ("in_stock", "out_of_stock")
ORDERINGS = {"sku": "product__sku", "on_hand": "on_hand", "location": "location__code", "updated_at": "updated_at"}


def with_stock(products: QuerySet[Any]) -> QuerySet[Any]:
    """Products annotated with ``out_of_stock`` (kept here, nothing on hand anywhere) in the same
    query: recommendations filter on it at every request."""
    items = StockItem.objects.filter(product=OuterRef("pk")).order_by().values("product")
    total = items.annotate(total=Sum("on_hand")).values("total")[:1]
    return products.alias(stock_total=Coalesce(Subquery(total), 0)).annotate(
        out_of_stock=ExpressionWrapper(Exists(items) & Q(stock_total__lte=0), output_field=BooleanField())
    )


def locations() -> QuerySet[Location]:
    return Location.objects.all()


def stock_items(params: Mapping[str, Any]) -> QuerySet[StockItem]:
    """Stock items filtered by location code, category code, brand, SKU/name text and status."""
    items = StockItem.objects.select_related("product", "product__category", "location")
    errors: list[FieldError] = []
    if params.get("location"):
        if not Location.objects.filter(code=params["location"]).exists():
            errors.append(FieldError("location", "not_found", f"no stock location {params['location']!r}"))
        items = items.filter(location__code=params["location"])
    if params.get("category"):
        items = items.filter(product__category__code=params["category"])
    if params.get("brand"):
        items = items.filter(product__brand__iexact=str(params["brand"]).strip())
    if params.get("q"):
        text = str(params["q"]).strip()
        items = items.filter(Q(product__sku__iexact=text) | Q(product__name__icontains=text))
    status = params.get("status")
    if status:
        if status not in STATUSES:
            errors.append(FieldError("status", "invalid", f"one of: {', '.join(STATUSES)}"))
        items = items.filter(on_hand__gt=0) if status == "in_stock" else items.filter(on_hand__lte=0)
    if errors:
        raise InvalidInput(errors)
    return items


def movements(item: StockItem) -> QuerySet[StockMovement]:
    return item.movements.select_related("order")


def low_stock() -> QuerySet[StockItem]:
    """Stock items to act on: sold out, or fewer on hand than their reorder quantity (the amount
    ordered at a time, so less than one delivery's worth is left). Emptiest first."""
    return (
        StockItem.objects.select_related("product", "location")
        .filter(Q(on_hand__lte=0) | Q(reorder_quantity__gt=0, on_hand__lt=F("reorder_quantity")))
        .order_by("on_hand", "product__sku", "location__code")
    )
