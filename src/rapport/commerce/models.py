"""Catalogue, orders, order lines, refunds, and each customer's transaction statistics.

Money is ``Decimal`` with the currency beside it. ``CustomerStats`` is kept right by
:mod:`rapport.commerce.services` in the same transaction as every order or refund write.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from rapport.core.fields import EncryptedTextField
from rapport.customers.models import Customer, Store

ZERO = Decimal("0.00")


def MoneyField(verbose_name: Any, **kwargs: Any) -> models.DecimalField[Any, Decimal]:
    """Amounts up to 999,999,999,999.99; the currency lives in a column beside them."""
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class Category(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    price = MoneyField(_("price"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)
    # What recommendations and messages show of a product.
    brand = models.CharField(_("brand"), max_length=120, blank=True, default="", db_default="")
    description = models.TextField(_("description"), blank=True, default="", db_default="")
    image_url = models.URLField(_("image URL"), max_length=500, blank=True, default="", db_default="")
    product_url = models.URLField(_("product URL"), max_length=500, blank=True, default="", db_default="")
    # Size/colour variants of one product share its SPU (the SKU is one variant of it).
    spu = models.CharField(_("SPU"), max_length=64, blank=True, default="", db_default="", db_index=True)
    variant = models.CharField(_("variant"), max_length=120, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative")]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


# Orders in these statuses count as purchases in the customer's statistics.
COUNTED_STATUSES = [
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
]


class OrderQuerySet(models.QuerySet["Order"]):
    """Published through :mod:`rapport.commerce.queries`: what other apps ask of orders."""

    def counted(self) -> OrderQuerySet:
        """Orders that count as purchases (``COUNTED_STATUSES``), as every statistic counts them."""
        return self.filter(status__in=COUNTED_STATUSES)


class Order(models.Model):
    # No index of their own on customer and store: the (customer, placed_at) and (store, placed_at)
    # indexes below lead with them and serve every look-up by either (each extra index is upkeep on
    # every order written; an import of ten million orders pays it ten million times).
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
        db_index=False,
    )
    store = models.ForeignKey(
        Store,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("store"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=40)
    external_id = models.CharField(_("external id"), max_length=128)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PAID)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    subtotal = MoneyField(_("subtotal"), default=ZERO)
    discount_total = MoneyField(_("discount"), default=ZERO)
    shipping_total = MoneyField(_("shipping"), default=ZERO)
    total = MoneyField(_("total"), default=ZERO)
    refunded_total = MoneyField(_("refunded"), default=ZERO)
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    # Delivery, as the shop's system reports it: what the portal's assistant tells a member who asks
    # where their parcel is.
    carrier = models.CharField(_("carrier"), max_length=60, blank=True, default="", db_default="")
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True, default="", db_default="")
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    # Where the order went, as the shop's export gives it (one text): personal data, encrypted like
    # customers' address lines, shown masked, exported and blanked with the customer's data.
    shipping_address = EncryptedTextField(_("shipping address"), blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="order_channel_external_id_unique"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                name="order_refunded_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"]),
            models.Index(fields=["store", "placed_at"]),
            models.Index(fields=["status", "placed_at"]),
            # Segment conditions aggregate a customer's counted orders over a window: an
            # index-only scan with the total included (see docs/benchmarks.md).
            models.Index(
                fields=["customer", "placed_at"],
                include=["total"],
                condition=Q(status__in=COUNTED_STATUSES),
                name="order_counted_customer_idx",
            ),
            # The analytics run reads every customer's whole history with every amount, also
            # index-only. Not folded into the index above: wider, it made the planner leave that
            # one for hash aggregates in segment counts (2x slower at 10M orders).
            models.Index(
                fields=["customer", "placed_at"],
                include=["total", "refunded_total", "subtotal", "discount_total"],
                condition=Q(status__in=COUNTED_STATUSES),
                name="order_counted_sums_idx",
            ),
            # Segment and report aggregates over a recent window read just that slice of it.
            models.Index(
                fields=["placed_at", "customer"],
                include=["total"],
                condition=Q(status__in=COUNTED_STATUSES),
                name="order_counted_time_idx",
            ),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def net_total(self) -> Decimal:
        return self.total - self.refunded_total

    @property
    def is_counted(self) -> bool:
        """Whether the order counts as a purchase (see :meth:`OrderQuerySet.counted`)."""
        return self.status in COUNTED_STATUSES


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = MoneyField(_("unit price"))
    line_total = MoneyField(_("line total"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
        ]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    external_id = models.CharField(_("external id"), max_length=128)
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.COMPLETED)
    refunded_at = models.DateTimeField(_("refunded at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-refunded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="refund_order_external_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"{self.order} −{self.amount}"


class CustomerStats(models.Model):
    """Transaction statistics (交易行为统计), rewritten with every order or refund write."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="stats")
    currency = models.CharField(max_length=3, default="CNY")
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spent = MoneyField(_("total spent"), default=ZERO)
    total_refunded = MoneyField(_("total refunded"), default=ZERO)
    net_spent = MoneyField(_("net spent"), default=ZERO)
    average_order_value = MoneyField(_("average order value"), default=ZERO)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True, db_index=True)
    refund_count = models.PositiveIntegerField(_("refunds"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["net_spent"]), models.Index(fields=["order_count"])]
        verbose_name = _("customer statistics")
        verbose_name_plural = _("customer statistics")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.order_count} orders"
