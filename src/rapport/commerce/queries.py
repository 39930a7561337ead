"""Reading orders, for this app and every other: what counts as a purchase, net revenue, the
caller's data scope and the filters the list page and the API share.

Other apps read orders through here (and ``Order.objects.counted()``) instead of re-deriving
the definitions: a purchase is an order in ``COUNTED_STATUSES``; net revenue is the total less
what was refunded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import CombinedExpression

from rapport.accounts.services import customer_scope
from rapport.commerce.models import COUNTED_STATUSES, Category, Order, OrderLine, OrderStatus, Product
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.listing import within_time_bounds
from rapport.customers.validation import LookupCache


def counted(prefix: str = "") -> Q:
    """The orders that count as purchases, seen from a related model (``counted("order__")`` on lines)."""
    return Q(**{f"{prefix}status__in": COUNTED_STATUSES})


def net_revenue(prefix: str = "") -> CombinedExpression:
    """An order's revenue after refunds (``total - refunded_total``), as an expression for queries."""
    return F(f"{prefix}total") - F(f"{prefix}refunded_total")


def product_by_sku(sku: str) -> Product | None:
    """The product with this SKU (products are addressed by SKU in the API), with its category."""
    return Product.objects.select_related("category").filter(sku=sku).first()


def categories() -> QuerySet[Category]:
    return Category.objects.all()


ORDERINGS = {"placed_at": "placed_at", "total": "total", "updated_at": "updated_at"}


def visible_orders(user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[Order]:
    """Orders of the customers this user may see (all orders for unscoped roles)."""
    return (
        Order.objects.filter(customer_scope(user, prefix="customer__"))
        .select_related("store", "customer")
        .prefetch_related("lines", "refunds")
    )


def placed_since(customer: Any, since: Any) -> QuerySet[Order]:
    """Every order of ``customer`` placed at or after ``since``, whatever its source (tracking, API,
    import, console, POS) or status; both may be expressions (``OuterRef``) for a subquery."""
    return Order.objects.filter(customer_id=customer, placed_at__gte=since)


def products_bought_since(customer_ids: Iterable[int], since: Any) -> QuerySet[OrderLine, tuple[int, int]]:
    """``(customer id, product id)`` of the counted lines these customers bought at or after
    ``since`` — an expression on the order (``OuterRef("order__customer_id")`` in it) when each
    customer has a moment of their own; one query for any number of customers."""
    lines = OrderLine.objects.filter(
        counted("order__"), order__customer_id__in=list(customer_ids), order__placed_at__gte=since
    )
    pairs = lines.filter(product__isnull=False).order_by().values_list("order__customer_id", "product_id")
    return pairs.distinct()


def filter_orders(orders: QuerySet[Order], params: Mapping[str, Any]) -> QuerySet[Order]:
    errors: list[FieldError] = []
    if params.get("customer_id"):
        orders = orders.filter(customer_id=params["customer_id"])
    if params.get("store"):
        store = LookupCache().store(params["store"])
        if store is None:
            errors.append(FieldError("store", "not_found", f"no store {params['store']!r}"))
        else:
            orders = orders.filter(store=store)
    if params.get("channel"):
        orders = orders.filter(channel=params["channel"])
    if params.get("q"):
        orders = orders.filter(external_id__icontains=str(params["q"]).strip())
    if params.get("status"):
        if params["status"] not in OrderStatus.values:
            errors.append(FieldError("status", "invalid", f"one of: {', '.join(OrderStatus.values)}"))
        orders = orders.filter(status=params["status"])
    orders = within_time_bounds(
        orders, params, field="placed_at", after="placed_after", before="placed_before", errors=errors
    )
    if errors:
        raise InvalidInput(errors)
    return orders


def customer_order(customer_id: int, order_id: int) -> Order | None:
    """Order ``order_id`` if it is ``customer_id``'s (a won sales opportunity links one), else None."""
    return Order.objects.filter(pk=order_id, customer_id=customer_id).first()
