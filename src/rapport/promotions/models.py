"""Promotions a merchant runs (满减, 限时折扣, 买赠, 套餐, 会员价, 首单) and the record of each use.

The tables hold what the operator set; ``services`` turns a running promotion into an offer for the
pricing engine (``pricing``) and records uses under the caps. Counters that caps read
(``times_used``, ``units_sold``) live on the promotion row so that a conditional update under a row
lock keeps them within their limits under concurrent checkouts; the database checks that too.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PromotionKind(models.TextChoices):
    FULL_REDUCTION = "full_reduction", _("Full reduction")
    ORDER_DISCOUNT = "order_discount", _("Order discount by units")
    ITEM_DISCOUNT = "item_discount", _("Product or category discount")
    LIMITED_TIME_PRICE = "limited_time_price", _("Limited-time price")
    BUY_X_GET_Y = "buy_x_get_y", _("Buy X get Y")
    BUNDLE = "bundle", _("Bundle price")
    MEMBER_PRICE = "member_price", _("Member price")
    FIRST_ORDER = "first_order", _("First-order offer")


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    LEVELS = "levels", _("Members of some levels")
    SEGMENT = "segment", _("A segment")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    PERSONAL = "personal", _("Customers a campaign granted it to")


class Promotion(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=30, choices=PromotionKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, default=Audience.EVERYONE)
    level_codes = models.JSONField(_("levels"), default=list, blank=True)
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("segment")
    )
    channels = models.JSONField(_("channels"), default=list, blank=True, help_text=_("Empty: every channel."))
    stores = models.ManyToManyField("customers.Store", blank=True, related_name="+", verbose_name=_("stores"))

    # what it covers (empty: every product) and what it gives; which fields apply depends on the kind
    skus = models.JSONField(_("SKUs"), default=list, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    by_units = models.BooleanField(_("thresholds count units"), default=False)
    repeat = models.BooleanField(_("repeat for every multiple of the threshold"), default=False)
    max_off = models.DecimalField(_("at most off"), max_digits=12, decimal_places=2, null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.DecimalField(_("amount off"), max_digits=12, decimal_places=2, null=True, blank=True)
    max_units_per_line = models.PositiveIntegerField(_("units a line at this price"), null=True, blank=True)
    buy = models.PositiveSmallIntegerField(_("buy"), null=True, blank=True)
    get = models.PositiveSmallIntegerField(_("get"), null=True, blank=True)
    components = models.JSONField(_("bundle components"), default=list, blank=True)

    with_order_offers = models.BooleanField(_("lines still count toward order offers"), default=True)
    with_coupons = models.BooleanField(_("coupons may join"), default=True)

    per_customer_limit = models.PositiveIntegerField(_("uses a customer"), null=True, blank=True)
    total_limit = models.PositiveIntegerField(_("uses in total"), null=True, blank=True)
    units_cap = models.PositiveIntegerField(_("units at this price in total"), null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0, editable=False)
    units_sold = models.PositiveIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "code"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            models.CheckConstraint(
                condition=Q(total_limit__isnull=True) | Q(times_used__lte=F("total_limit")),
                name="promotion_uses_within_total_limit",
            ),
            models.CheckConstraint(
                condition=Q(units_cap__isnull=True) | Q(units_sold__lte=F("units_cap")),
                name="promotion_units_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="promotion_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["is_active", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PromotionUse(models.Model):
    """One promotion applied to one redeemed order: what it took off, and what a refund gave back."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="uses")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=120, help_text=_("The checkout's idempotency key."))
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    order_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text=_("What the goods came to after promotions."),
    )
    units = models.PositiveIntegerField(default=0)
    reversed_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["promotion", "key"], name="promotion_use_once_per_checkout"),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0) & Q(reversed_amount__lte=F("amount")),
                name="promotion_use_reversed_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["promotion", "customer"])]

    def __str__(self) -> str:
        return f"{self.promotion_id} {self.key} {self.amount}"


class PersonalPromotion(models.Model):
    """A personal promotion: a campaign granted one customer a promotion (of the personal audience)
    for a while, e.g. a 72-hour 满199减30. The engine offers the promotion to that customer only
    while ``valid_from <= now < valid_until``; each grant allows the promotion's ``per_customer_limit``
    uses (none: any number while valid).

    ``key`` makes a grant idempotent per customer and journey run (the campaign's
    ``plan:<id>:step:<id>:enrollment:<id>``); ``plan_id`` is the campaign plan that granted it, a plain
    number because promotions know nothing of campaigns; the hold-out comparison reads it.
    """

    id = models.BigAutoField(primary_key=True)
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="grants")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=120)
    plan_id = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("personal promotion")
        verbose_name_plural = _("personal promotions")
        constraints = [
            models.UniqueConstraint(fields=["promotion", "customer", "key"], name="personal_promotion_once_per_run"),
            models.CheckConstraint(
                condition=Q(valid_until__gt=F("valid_from")), name="personal_promotion_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "valid_until"], name="personal_promotion_held_idx"),
            models.Index(fields=["promotion", "plan_id"], name="personal_promotion_plan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} → {self.customer_id} until {self.valid_until:%Y-%m-%d %H:%M}"
