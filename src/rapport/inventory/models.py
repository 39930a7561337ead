"""Stock: where it is kept, each product's stock item there, and the append-only movement ledger.

A stock item's ``on_hand`` is the sum of its movements, kept in the same transaction as each
movement is written (see :mod:`rapport.inventory.services`); movements are never changed or
deleted, so the level can always be explained and re-derived from its history.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import MoneyField, Order, Product
from rapport.customers.models import Customer, Store


class Location(models.Model):
    """A shop or a warehouse holding stock; orders of a store take from that store's location."""

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        WAREHOUSE = "warehouse", _("Warehouse")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WAREHOUSE)
    store = models.OneToOneField(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("store")
    )
    # Orders without a store (or of a store without a location) take from the default location.
    is_default = models.BooleanField(_("default for orders without a store"), default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_location")
        ]
        verbose_name = _("stock location")
        verbose_name_plural = _("stock locations")

    def __str__(self) -> str:
        return self.name


class StockItem(models.Model):
    """One product at one location: its level and how it is replenished."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="items", verbose_name=_("location"))
    on_hand = models.IntegerField(_("on hand"), default=0)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=7)
    reorder_quantity = models.PositiveIntegerField(_("reorder quantity"), default=0)
    unit_cost = MoneyField(_("unit cost"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product__sku", "location__code"]
        constraints = [models.UniqueConstraint(fields=["product", "location"], name="stock_item_unique")]
        indexes = [models.Index(fields=["location", "on_hand"]), models.Index(fields=["product", "on_hand"])]
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Goods received")
    SALE = "sale", _("Sale")
    RETURN = "return", _("Return or cancellation")
    ADJUSTMENT = "adjustment", _("Manual adjustment")
    COUNT = "count", _("Stock count")
    OPENING = "opening", _("Opening stock")


class StockMovement(models.Model):
    """One change of a stock item's level. Append-only: saving an existing row is refused."""

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    quantity = models.IntegerField(_("quantity"))
    kind = models.CharField(_("kind"), max_length=12, choices=MovementKind.choices)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("order")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.CharField(_("by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="stock_movement_not_zero")]
        indexes = [models.Index(fields=["item", "created_at"]), models.Index(fields=["order", "item"])]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("stock movements are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("stock movements are append-only")


class SalesForecast(models.Model):
    """The latest forecast of one series: a product, a category, a store or the whole shop, by
    week or by day. Rewritten by each scheduled run (:mod:`rapport.inventory.planning`); ``values``
    holds parallel lists ``mean``, ``lo80``, ``hi80``, ``lo95``, ``hi95`` from ``first_period``,
    and ``history`` the recent actuals the chart shows, ending the period before it."""

    class Scope(models.TextChoices):
        PRODUCT = "product", _("Product")
        CATEGORY = "category", _("Category")
        STORE = "store", _("Store")
        SHOP = "shop", _("Whole shop")

    class Frequency(models.TextChoices):
        WEEK = "week", _("Weekly")
        DAY = "day", _("Daily")

    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    key = models.PositiveIntegerField(_("key"), default=0)  # the product, category or store id; 0 for the shop
    frequency = models.CharField(_("frequency"), max_length=4, choices=Frequency.choices)
    first_period = models.DateField(_("first period"))
    values = models.JSONField(default=dict)
    history = models.JSONField(default=list)
    method = models.CharField(_("method"), max_length=12)
    demand_class = models.CharField(_("demand pattern"), max_length=12)
    sigma = models.FloatField(_("forecast error (one period)"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["scope", "key", "frequency"]
        constraints = [models.UniqueConstraint(fields=["scope", "key", "frequency"], name="sales_forecast_series")]
        verbose_name = _("sales forecast")
        verbose_name_plural = _("sales forecasts")

    def __str__(self) -> str:
        return f"{self.scope} {self.key} {self.frequency}"


class ForecastRun(models.Model):
    """One scheduled forecast: its size and time, and the rolling-origin backtest per category
    against seasonal-naive, computed in the same run on the same data."""

    computed_at = models.DateTimeField(_("computed at"))
    seconds = models.FloatField(default=0)
    series = models.PositiveIntegerField(default=0)
    backtest = models.JSONField(default=dict)

    class Meta:
        ordering = ["-computed_at", "-id"]
        verbose_name = _("forecast run")
        verbose_name_plural = _("forecast runs")

    def __str__(self) -> str:
        return f"forecast {self.computed_at:%Y-%m-%d %H:%M}"


class ProductClass(models.Model):
    """A product's ABC class (its share of the last year's revenue) and XYZ class (how much its
    weekly demand varies), written by the scheduled forecast (:mod:`rapport.inventory.replenishment`)."""

    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    abc = models.CharField(_("ABC class"), max_length=1)
    xyz = models.CharField(_("XYZ class"), max_length=1)
    revenue = MoneyField(_("revenue, last 52 weeks"))
    revenue_share = models.FloatField(_("share of revenue"), default=0)
    demand_cv = models.FloatField(_("weekly demand CV"), null=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("product class")
        verbose_name_plural = _("product classes")

    def __str__(self) -> str:
        return f"{self.product_id}: {self.abc}{self.xyz}"


class StockPlan(models.Model):
    """How a stock item should be replenished, from the forecast: its expected weekly demand at
    this location, the safety stock for the chosen service level over the lead time, and the
    reorder point (demand over the lead time plus the safety stock)."""

    item = models.OneToOneField(StockItem, primary_key=True, on_delete=models.CASCADE, related_name="plan")
    weekly_demand = models.FloatField(_("weekly demand (forecast)"), default=0)
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    horizon_demand = models.FloatField(_("demand over the forecast horizon"), default=0)
    service_level = models.FloatField(_("service level"), default=0.95)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("stock plan")
        verbose_name_plural = _("stock plans")

    def __str__(self) -> str:
        return f"{self.item_id}: reorder at {self.reorder_point}"


class LowStockAlert(models.Model):
    """A low-stock warning (库存预警) for an item at or below its reorder point: opened once and
    notified once, closed when the level recovers; at most one open per item (the database says so)."""

    item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="alerts")
    on_hand = models.IntegerField(_("on hand when raised"))
    reorder_point = models.PositiveIntegerField(_("reorder point"))
    opened_at = models.DateTimeField(_("raised at"))
    closed_at = models.DateTimeField(_("recovered at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(closed_at=None), name="one_open_low_stock_alert")
        ]
        verbose_name = _("low-stock warning")
        verbose_name_plural = _("low-stock warnings")

    def __str__(self) -> str:
        return f"{self.item_id} low since {self.opened_at:%Y-%m-%d}"


class StockSubscription(models.Model):
    """A customer asking to hear when a sold-out product is back (from the portal or a tracked
    ``Back In Stock Requested`` event). ``returned_at`` is set once, when stock of the product
    returns; journeys with the ``back_in_stock`` trigger enter the customer for it once."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Member portal")
        TRACKING = "tracking", _("Tracking API")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(_("asked at"))
    returned_at = models.DateTimeField(_("back in stock at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product"], condition=Q(returned_at=None), name="one_waiting_stock_subscription"
            )
        ]
        indexes = [models.Index(fields=["product"], condition=Q(returned_at=None), name="stock_subscription_waiting")]
        verbose_name = _("back-in-stock subscription")
        verbose_name_plural = _("back-in-stock subscriptions")

    def __str__(self) -> str:
        return f"{self.customer_id} waits for {self.product_id}"
