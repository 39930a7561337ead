"""Reading stock, for this app's pages and API and for other apps (recommendations).

A product whose stock is not kept here (no stock item anywhere) counts as available: the shop
manages it elsewhere. A kept product is out of stock when its levels add up to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from rapport.core.errors import FieldError, InvalidInput
from rapport.inventory.models import (
    ForecastRun,
    Location,
    ProductClass,
    SalesForecast,
    StockItem,
    StockMovement,
    StockSubscription,
)

STATUSES = ("in_stock", "out_of_stock", "low", "overstock")
ORDERINGS = {
    "sku": "product__sku",
    "on_hand": "on_hand",
    "location": "location__code",
    "updated_at": "updated_at",
    "days_of_cover": "days_of_cover",
}
CLASSES = ("A", "B", "C")
VARIABILITY = ("X", "Y", "Z")


def with_stock(products: QuerySet[Any], product: str = "pk") -> QuerySet[Any]:
    """Rows annotated with ``out_of_stock`` (the product is kept here and nothing is on hand
    anywhere) in the same query: recommendations filter on it at every request. ``product`` names
    the product's id on the rows: ``pk`` for products, ``related_id`` for a row pointing at one."""
    items = StockItem.objects.filter(product=OuterRef(product)).order_by().values("product")
    total = items.annotate(total=Sum("on_hand")).values("total")[:1]
    return products.alias(stock_total=Coalesce(Subquery(total), 0)).annotate(
        out_of_stock=ExpressionWrapper(Exists(items) & Q(stock_total__lte=0), output_field=BooleanField())
    )


def running_out() -> QuerySet[Any]:
    """Ids of products forecast to run out before more could arrive: their days of cover over all
    their locations (on hand over the forecast daily demand) below the longest lead time of their
    items. Campaigns that ask leave them out of the products a message shows."""
    return (
        StockItem.objects.filter(plan__isnull=False)
        .values("product_id")
        .alias(total=Sum("on_hand"), weekly=Sum("plan__weekly_demand"), lead=Max("lead_time_days"))
        .filter(weekly__gt=0, total__lt=ExpressionWrapper(F("weekly") * F("lead") / 7.0, output_field=FloatField()))
        .values("product_id")
    )


def overstocked() -> QuerySet[Any]:
    """Ids of products overstocked somewhere (:func:`with_plan`'s ``overstock``): what a campaign
    pushes to the customers most likely to want them."""
    return with_plan(StockItem.objects.all()).filter(Q(overstock=True)).values("product_id").distinct()


def locations() -> QuerySet[Location]:
    return Location.objects.all()


def with_plan(items: QuerySet[StockItem]) -> QuerySet[StockItem]:
    """Stock items with their product's ABC/XYZ class, their plan, and ``days_of_cover`` (on hand
    over the forecast daily demand; None when nothing is forecast to sell) and ``overstock`` (more
    on hand than the forecast horizon's demand plus the safety stock)."""
    product_class = ProductClass.objects.filter(product=OuterRef("product_id"))
    daily = ExpressionWrapper(F("plan__weekly_demand") / 7.0, output_field=FloatField())
    return (
        items.select_related("plan")
        .annotate(
            abc=Subquery(product_class.values("abc")[:1]),
            xyz=Subquery(product_class.values("xyz")[:1]),
            days_of_cover=Case(
                When(
                    plan__weekly_demand__gt=0, then=ExpressionWrapper(F("on_hand") / daily, output_field=FloatField())
                ),
                default=None,
                output_field=FloatField(),
            ),
        )
        .annotate(
            overstock=ExpressionWrapper(
                Q(plan__isnull=False, on_hand__gt=F("plan__horizon_demand") + F("plan__safety_stock")),
                output_field=BooleanField(),
            )
        )
    )


def stock_items(params: Mapping[str, Any]) -> QuerySet[StockItem]:
    """Stock items filtered by location code, category code, brand, SKU/name text, status and
    ABC/XYZ class, with their plan (:func:`with_plan`)."""
    items = with_plan(StockItem.objects.select_related("product", "product__category", "location"))
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
        items = items.filter(
            {
                "in_stock": Q(on_hand__gt=0),
                "out_of_stock": Q(on_hand__lte=0),
                "low": Q(plan__reorder_point__gt=0, on_hand__lte=F("plan__reorder_point")),
                "overstock": Q(overstock=True),
            }.get(status, Q())
        )
    for field, allowed in (("abc", CLASSES), ("xyz", VARIABILITY)):
        if params.get(field):
            if params[field] not in allowed:
                errors.append(FieldError(field, "invalid", f"one of: {', '.join(allowed)}"))
            items = items.filter(**{field: params[field]})
    if errors:
        raise InvalidInput(errors)
    return items


def movements(item: StockItem) -> QuerySet[StockMovement]:
    return item.movements.select_related("order")


def forecast(scope: str, key: int, frequency: str) -> SalesForecast | None:
    return SalesForecast.objects.filter(scope=scope, key=key, frequency=frequency).first()


def latest_forecast_run() -> ForecastRun | None:
    return ForecastRun.objects.first()


def class_matrix() -> dict[tuple[str, str], dict[str, Any]]:
    """(ABC, XYZ) → number of products and their share of revenue, for every one of the nine cells."""
    cells: dict[tuple[str, str], dict[str, Any]] = {
        (a, x): {"products": 0, "share": 0.0} for a in CLASSES for x in VARIABILITY
    }
    rows = ProductClass.objects.values_list("abc", "xyz").annotate(products=Count("pk"), share=Sum("revenue_share"))
    for abc, xyz, products, share in rows.order_by():
        cells[(abc, xyz)] = {"products": products, "share": share or 0.0}
    return cells


def back_in_stock_since(since: Any) -> list[tuple[int, int, str, str]]:
    """(subscription, customer, SKU, product name) of subscriptions whose product came back since
    ``since``: what the campaigns' ``back_in_stock`` journey trigger enters, once each."""
    return list(
        StockSubscription.objects.filter(returned_at__gte=since)
        .order_by("pk")
        .values_list("pk", "customer_id", "product__sku", "product__name")
    )


def waiting_subscriptions(customer_id: int) -> QuerySet[StockSubscription]:
    return StockSubscription.objects.filter(customer_id=customer_id, returned_at=None).select_related("product")
