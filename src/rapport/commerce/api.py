"""``/api/v1`` categories, products, orders with lines, and refunds.

Orders and products are upserted by their natural keys (channel + external id, SKU), so a
shop can resend anything safely. Orders of customers outside the caller's scope answer 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import COMMERCE_READ, COMMERCE_WRITE
from rapport.commerce import services
from rapport.commerce.models import Category, Order, Product, Refund
from rapport.commerce.queries import ORDERINGS, filter_orders, visible_orders
from rapport.commerce.responses import (
    BulkOrdersOut,
    CommerceCategoryOut,
    OrderOut,
    OrderPage,
    ProductOut,
    ProductPage,
    RefundOut,
)
from rapport.core.api import Strict, actor_for, require
from rapport.core.bulk import bulk_summary
from rapport.core.errors import NotFound
from rapport.core.listing import order, page_body, paginate

router = Router(tags=["commerce"], exclude_unset=True)

Money = Decimal | int | str


class CategoryIn(Strict):
    code: str | None = None
    name: str | None = None
    parent: str | None = Field(None, description="code of the parent category")


class ProductIn(Strict):
    sku: str | None = None
    name: str | None = None
    category: str | None = Field(None, description="category code")
    price: Money | None = None
    currency: str | None = None
    is_active: bool | None = None
    brand: str | None = None
    description: str | None = None
    image_url: str | None = None
    product_url: str | None = None
    spu: str | None = Field(None, description="groups the size/colour variants of one product")
    variant: str | None = Field(None, description="which variant this SKU is, e.g. 'M / red'")


class BulkProducts(Strict):
    items: list[ProductIn]


class LineIn(Strict):
    sku: str
    name: str | None = None
    quantity: int
    unit_price: Money | None = None


class OrderIn(Strict):
    channel: str
    external_id: str
    customer_id: int | None = None
    customer_external_id: str | None = Field(None, description="the customer's id on the same channel")
    store: str | int | None = Field(None, description="store id or code")
    status: str | None = None
    currency: str | None = None
    discount_total: Money | None = None
    shipping_total: Money | None = None
    total: Money | None = None
    placed_at: str
    carrier: str | None = Field(None, description="the courier delivering the order")
    tracking_number: str | None = None
    shipped_at: str | None = None
    shipping_address: str | None = Field(None, description="where the order goes, one text (stored encrypted)")
    lines: list[LineIn]


class BulkOrders(Strict):
    items: list[OrderIn]


class StatusIn(Strict):
    status: str


class RefundIn(Strict):
    external_id: str
    amount: Money
    reason: str = ""
    refunded_at: str | None = None


PRODUCT_ORDERINGS = {"sku": "sku", "name": "name", "price": "price", "updated_at": "updated_at"}


def category_body(category: Category) -> dict[str, Any]:
    return {
        "id": category.pk,
        "code": category.code,
        "name": category.name,
        "parent": category.parent.code if category.parent else None,
    }


def product_body(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "category": product.category.code if product.category else None,
        "price": str(product.price),
        "currency": product.currency,
        "is_active": product.is_active,
        "brand": product.brand,
        "description": product.description,
        "image_url": product.image_url,
        "product_url": product.product_url,
        "spu": product.spu,
        "variant": product.variant,
        "updated_at": product.updated_at,
    }


def refund_body(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.pk,
        "external_id": refund.external_id,
        "amount": str(refund.amount),
        "reason": refund.reason,
        "status": refund.status,
        "refunded_at": refund.refunded_at,
    }


def order_body(o: Order) -> dict[str, Any]:
    return {
        "id": o.pk,
        "channel": o.channel,
        "external_id": o.external_id,
        "customer_id": o.customer_id,
        "store": o.store.code if o.store else None,
        "status": o.status,
        "currency": o.currency,
        "subtotal": str(o.subtotal),
        "discount_total": str(o.discount_total),
        "shipping_total": str(o.shipping_total),
        "total": str(o.total),
        "refunded_total": str(o.refunded_total),
        "placed_at": o.placed_at,
        "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "shipped_at": o.shipped_at,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
            }
            for line in o.lines.all()
        ],
        "refunds": [refund_body(r) for r in o.refunds.all()],
    }


def _order(request: HttpRequest, order_id: int) -> Order:
    found = visible_orders(request.user).filter(pk=order_id).first()
    if found is None:
        raise NotFound.single("order_id", "not_found", f"no order #{order_id}")
    return found


def _product(sku: str) -> Product:
    product = Product.objects.select_related("category").filter(sku=sku).first()
    if product is None:
        raise NotFound.single("sku", "not_found", f"no product {sku!r}")
    return product


def _order_input(payload: OrderIn) -> dict[str, Any]:
    data = payload.model_dump(exclude_none=True)
    data["lines"] = [line.model_dump(exclude_none=True) for line in payload.lines]
    return data


# Categories --------------------------------------------------------------------------------


@router.get("/categories", response={200: list[dict[str, Any]]}, summary="All categories")
def list_categories(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, COMMERCE_READ, "commerce.view_category")
    return [category_body(c) for c in Category.objects.select_related("parent")]


@router.post("/categories", response={201: CommerceCategoryOut}, summary="Create a category")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[dict[str, Any]]:
    require(request, COMMERCE_WRITE, "commerce.add_category")
    category = services.save_category(data=payload.model_dump(exclude_unset=True), actor=actor_for(request))
    return Status(201, category_body(category))


@router.patch("/categories/{code}", response={200: dict[str, Any]}, summary="Rename or move a category")
def update_category(request: HttpRequest, code: str, payload: CategoryIn) -> dict[str, Any]:
    require(request, COMMERCE_WRITE, "commerce.change_category")
    category = Category.objects.filter(code=code).first()
    if category is None:
        raise NotFound.single("code", "not_found", f"no category {code!r}")
    saved = services.save_category(
        data=payload.model_dump(exclude_unset=True), actor=actor_for(request), instance=category
    )
    return category_body(saved)


# Products ----------------------------------------------------------------------------------


@router.get("/products", response={200: ProductPage}, summary="List products")
def list_products(
    request: HttpRequest,
    q: str = "",
    category: str = "",
    is_active: bool | None = None,
    order_by: str = "sku",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, COMMERCE_READ, "commerce.view_product")
    products = Product.objects.select_related("category")
    if q:
        products = products.filter(name__icontains=q) | products.filter(sku__iexact=q)
    if category:
        products = products.filter(category__code=category)
    if is_active is not None:
        products = products.filter(is_active=is_active)
    page = paginate(order(products, order_by, PRODUCT_ORDERINGS, "sku"), limit=limit, offset=offset)
    return page_body(page, [product_body(p) for p in page.items])


@router.post("/products", response={200: ProductOut, 201: ProductOut}, summary="Create or update a product by SKU")
def upsert_product(request: HttpRequest, payload: ProductIn) -> Status[dict[str, Any]]:
    require(request, COMMERCE_WRITE, "commerce.add_product", "commerce.change_product")
    product, created = services.upsert_product(data=payload.model_dump(exclude_unset=True), actor=actor_for(request))
    return Status(201 if created else 200, product_body(product))


@router.post(
    "/products/bulk", response={200: dict[str, Any]}, summary="Upsert up to 1000 products by SKU, all or nothing"
)
def bulk_products(request: HttpRequest, payload: BulkProducts) -> dict[str, Any]:
    require(request, COMMERCE_WRITE, "commerce.add_product", "commerce.change_product")
    items = [p.model_dump(exclude_unset=True) for p in payload.items]
    return bulk_summary(services.bulk_upsert_products(items, actor=actor_for(request)))


@router.get("/products/{sku}", response={200: ProductOut}, summary="One product")
def get_product(request: HttpRequest, sku: str) -> dict[str, Any]:
    require(request, COMMERCE_READ, "commerce.view_product")
    return product_body(_product(sku))


@router.patch("/products/{sku}", response={200: ProductOut}, summary="Change a product")
def update_product(request: HttpRequest, sku: str, payload: ProductIn) -> dict[str, Any]:
    require(request, COMMERCE_WRITE, "commerce.change_product")
    product = services.update_product(
        _product(sku), data=payload.model_dump(exclude_unset=True), actor=actor_for(request)
    )
    return product_body(product)


# Orders ------------------------------------------------------------------------------------


@router.get("/orders", response={200: OrderPage}, summary="List orders")
def list_orders(
    request: HttpRequest,
    customer_id: int | None = None,
    store: str = "",
    channel: str = "",
    status: str = "",
    placed_after: str = "",
    placed_before: str = "",
    order_by: str = "-placed_at",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, COMMERCE_READ, "commerce.view_order")
    params = {
        "customer_id": customer_id,
        "store": store,
        "channel": channel,
        "status": status,
        "placed_after": placed_after,
        "placed_before": placed_before,
    }
    orders = order(filter_orders(visible_orders(request.user), params), order_by, ORDERINGS, "-placed_at")
    page = paginate(orders, limit=limit, offset=offset)
    return page_body(page, [order_body(o) for o in page.items])


@router.post("/orders", response={200: OrderOut, 201: OrderOut}, summary="Create or update an order by channel + id")
def upsert_order(request: HttpRequest, payload: OrderIn) -> Status[dict[str, Any]]:
    require(request, COMMERCE_WRITE, "commerce.add_order", "commerce.change_order")
    saved, created = services.upsert_order(data=_order_input(payload), actor=actor_for(request))
    return Status(201 if created else 200, order_body(Order.objects.get(pk=saved.pk)))


@router.post("/orders/bulk", response={200: BulkOrdersOut}, summary="Upsert up to 1000 orders, all or nothing")
def bulk_orders(request: HttpRequest, payload: BulkOrders) -> dict[str, Any]:
    require(request, COMMERCE_WRITE, "commerce.add_order", "commerce.change_order")
    items = [_order_input(p) for p in payload.items]
    return bulk_summary(services.bulk_upsert_orders(items, actor=actor_for(request)))


@router.get("/orders/{order_id}", response={200: OrderOut}, summary="One order with its lines and refunds")
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    require(request, COMMERCE_READ, "commerce.view_order")
    return order_body(_order(request, order_id))


@router.post("/orders/{order_id}/status", response={200: OrderOut}, summary="Move an order to another status")
def set_status(request: HttpRequest, order_id: int, payload: StatusIn) -> dict[str, Any]:
    require(request, COMMERCE_WRITE, "commerce.change_order")
    services.set_order_status(_order(request, order_id), status=payload.status, actor=actor_for(request))
    return order_body(_order(request, order_id))


@router.get("/orders/{order_id}/refunds", response={200: list[dict[str, Any]]}, summary="Refunds of an order")
def list_refunds(request: HttpRequest, order_id: int) -> list[dict[str, Any]]:
    require(request, COMMERCE_READ, "commerce.view_refund")
    return [refund_body(r) for r in _order(request, order_id).refunds.all()]


@router.post(
    "/orders/{order_id}/refunds", response={200: RefundOut, 201: RefundOut}, summary="Record a refund (idempotent)"
)
def create_refund(request: HttpRequest, order_id: int, payload: RefundIn) -> Status[dict[str, Any]]:
    require(request, COMMERCE_WRITE, "commerce.add_refund")
    refund, created = services.record_refund(
        _order(request, order_id),
        external_id=payload.external_id,
        amount=payload.amount,
        reason=payload.reason,
        refunded_at=payload.refunded_at,
        actor=actor_for(request),
    )
    return Status(201 if created else 200, refund_body(refund))
