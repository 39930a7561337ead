"""Customer assets (客户资产): one ledger design for points and stored value, plus member levels,
benefit cards and coupons.

Ledger: an :class:`Account` per customer and asset holds the balance; every change is an
immutable :class:`Entry` with a globally unique idempotency key, written in the same transaction
as the balance, so ``balance == sum(entries)`` always; a check constraint keeps it ``>= 0``.
Credits open a :class:`Lot` (earn date, expiry, remaining); debits consume lots first-in
first-out by earn date and remember what they took (:class:`LotUse`), so a reversed spend goes
back into the lots it came from and expiry is exact. Coupons are a ledger of quantity one: the
coupon row holds the state and every change is a :class:`CouponEvent` with an idempotency key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from rapport.customers.models import Customer, Store

ZERO = Decimal("0")


def AmountField(verbose_name: object, **kwargs: object) -> models.DecimalField[Any, Decimal]:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)  # type: ignore[arg-type]


class Asset(models.TextChoices):
    POINTS = "points", _("Points")
    PRINCIPAL = "principal", _("Stored value (principal)")
    BONUS = "bonus", _("Stored value (bonus)")


class Account(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="asset_accounts")
    asset = models.CharField(_("asset"), max_length=12, choices=Asset.choices)
    balance = AmountField(_("balance"), default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: whether the account may hold lots past their expiry. ledger.lock_accounts reads
    # it with the lock; an account loaded any other way is assumed to, so debits always sweep.
    has_overdue_lots: bool = True

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "asset"], name="loyalty_account_customer_asset_unique"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_account_balance_not_negative"),
        ]
        indexes = [models.Index(fields=["asset", "balance"], name="loyalty_account_asset_balance")]
        permissions = [("adjust_balance", _("Can adjust points and stored value by hand"))]
        verbose_name = _("asset account")
        verbose_name_plural = _("asset accounts")

    def __str__(self) -> str:
        return f"{self.get_asset_display()} of customer #{self.customer_id}"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    SPEND = "spend", _("Spent")
    EXPIRE = "expire", _("Expired")
    REVERSE = "reverse", _("Reversed (refund)")
    RETURN = "return", _("Returned (cancelled spend)")
    ADJUST = "adjust", _("Adjustment")
    TOP_UP = "top_up", _("Top-up")
    WITHDRAW = "withdraw", _("Refunded to the customer")
    FORFEIT = "forfeit", _("Bonus forfeited")
    OPENING = "opening", _("Opening balance (imported)")


class Entry(models.Model):
    """One immutable change of one account; positive amounts are credits, negative debits."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    amount = AmountField(_("amount"))
    balance_after = AmountField(_("balance after"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    occurred_at = models.DateTimeField(_("when"))
    order = models.ForeignKey(
        "commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="asset_entries"
    )
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.CharField(_("by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="loyalty_entry_amount_not_zero")]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="loyalty_entry_account_time"),
            models.Index(fields=["order", "kind"], name="loyalty_entry_order_kind"),
        ]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on account #{self.account_id}"


class LotQuerySet(models.QuerySet["Lot"]):
    """Published through :mod:`rapport.loyalty.queries`."""

    def points_left(self) -> LotQuerySet:
        """Points lots with something left to spend (or to expire)."""
        return self.filter(account__asset=Asset.POINTS, remaining__gt=0)

    def points_expiring(self, *, within: timedelta, now: datetime) -> LotQuerySet:
        """Points left that expire after ``now`` and no later than ``now + within``."""
        return self.points_left().filter(expires_at__gt=now, expires_at__lte=now + within)


class Lot(models.Model):
    """What is left of one credit; debits take from the oldest lots first."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="lot")
    earned_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    amount = AmountField(_("amount"))
    remaining = AmountField(_("remaining"))

    objects = LotQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")), name="loyalty_lot_remaining_in_range"
            )
        ]
        indexes = [
            models.Index(
                fields=["account", "earned_at", "id"], condition=Q(remaining__gt=0), name="loyalty_lot_open_fifo"
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="loyalty_lot_open_expiry"),
        ]

    def __str__(self) -> str:
        return f"lot #{self.pk}: {self.remaining}/{self.amount}"


class LotUse(models.Model):
    """How much of a lot a debit took, so reversing the debit refills the same lot."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="lot_uses")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="uses")
    amount = AmountField(_("amount"))

    def __str__(self) -> str:
        return f"{self.amount} of lot #{self.lot_id}"


# Settings and earn rules -------------------------------------------------------------------------


class ExpiryPolicy(models.TextChoices):
    NEVER = "never", _("Never expire")
    END_OF_NEXT_YEAR = "end_of_next_year", _("End of the year after they were earned")
    ROLLING_DAYS = "rolling_days", _("A number of days after they were earned")


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    HALF_UP = "half_up", _("Round half up")
    UP = "up", _("Round up")


class SpendOrder(models.TextChoices):
    BONUS_FIRST = "bonus_first", _("Bonus first, then principal")
    PRINCIPAL_FIRST = "principal_first", _("Principal first, then bonus")


class GrowthSource(models.TextChoices):
    SPEND = "spend", _("Net spend")
    POINTS = "points", _("Points earned")
    BOTH = "both", _("Net spend plus points earned")


class ProgramSettings(models.Model):
    """The single row of programme-wide settings (pk 1), edited on the console settings page."""

    points_expiry = models.CharField(
        _("points expiry"), max_length=20, choices=ExpiryPolicy.choices, default=ExpiryPolicy.END_OF_NEXT_YEAR
    )
    points_expiry_days = models.PositiveIntegerField(_("days until points expire"), default=365)
    points_per_currency_unit = models.PositiveIntegerField(_("points worth one currency unit at checkout"), default=100)
    max_points_share = models.DecimalField(
        _("largest share of a cart payable with points"), max_digits=3, decimal_places=2, default=Decimal("0.50")
    )
    stored_value_spend_order = models.CharField(
        _("stored value spend order"), max_length=20, choices=SpendOrder.choices, default=SpendOrder.BONUS_FIRST
    )
    growth_source = models.CharField(
        _("level growth from"), max_length=10, choices=GrowthSource.choices, default=GrowthSource.SPEND
    )
    growth_window_days = models.PositiveIntegerField(_("growth counted over the last (days)"), default=365)
    expiry_warning_days = models.PositiveIntegerField(_("warn about expiring points (days ahead)"), default=30)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_points_share__gte=0) & Q(max_points_share__lte=1), name="loyalty_points_share_range"
            )
        ]
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")

    def __str__(self) -> str:
        return "programme settings"


class EarnRuleKind(models.TextChoices):
    PER_AMOUNT = "per_amount", _("Points per amount spent")
    PER_EVENT = "per_event", _("Points for a behaviour event")
    CAMPAIGN = "campaign", _("Campaign: extra points on orders in a period")


class EarnRule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=EarnRuleKind.choices)
    points_per_unit = models.DecimalField(
        _("points per currency unit"), max_digits=8, decimal_places=2, default=Decimal("1")
    )
    rounding = models.CharField(_("rounding"), max_length=8, choices=Rounding.choices, default=Rounding.DOWN)
    minimum_amount = AmountField(_("minimum order amount"), default=ZERO)
    event_name = models.CharField(_("event name"), max_length=120, blank=True)
    points = models.PositiveIntegerField(_("points per event"), default=0)
    daily_limit = models.PositiveIntegerField(_("times per customer per day (0 = no limit)"), default=0)
    multiplier = models.DecimalField(_("campaign multiplier"), max_digits=5, decimal_places=2, default=Decimal("1"))
    bonus_points = models.PositiveIntegerField(_("campaign bonus points per order"), default=0)
    stores = models.ManyToManyField(Store, blank=True, verbose_name=_("only in these stores"), related_name="+")
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("earn rule")
        verbose_name_plural = _("earn rules")

    def __str__(self) -> str:
        return self.name


# Levels ------------------------------------------------------------------------------------------


class Level(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    threshold = AmountField(_("growth to reach"), default=ZERO)
    keep_threshold = AmountField(_("growth to keep at review"), default=ZERO)
    points_multiplier = models.DecimalField(
        _("points multiplier"), max_digits=4, decimal_places=2, default=Decimal("1")
    )
    discount_percent = models.DecimalField(_("member discount %"), max_digits=5, decimal_places=2, default=ZERO)
    free_shipping = models.BooleanField(_("free shipping"), default=False)
    birthday_points = models.PositiveIntegerField(_("birthday gift points"), default=0)
    custom_benefits = models.TextField(_("other benefits (one a line)"), blank=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(points_multiplier__gte=0), name="loyalty_level_multiplier_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lt=100), name="loyalty_level_discount_range"
            ),
        ]
        verbose_name = _("member level")
        verbose_name_plural = _("member levels")

    def __str__(self) -> str:
        return self.name

    @property
    def benefit_lines(self) -> list[str]:
        return [line.strip() for line in self.custom_benefits.splitlines() if line.strip()]


class Membership(models.Model):
    """A customer's current level and growth value."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="membership")
    level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    growth = AmountField(_("growth value"), default=ZERO)
    level_since = models.DateTimeField(_("level since"), null=True, blank=True)
    # a level given by the system a merchant left (opening import): the review keeps it until then
    level_valid_until = models.DateTimeField(_("level valid until"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"customer #{self.customer_id}: {self.level or '-'}"


class LevelChange(models.Model):
    class Reason(models.TextChoices):
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade at review")
        MANUAL = "manual", _("Set by staff")
        MERGE = "merge", _("Customer merge")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="level_changes")
    from_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    growth = AmountField(_("growth value"), default=ZERO)
    changed_at = models.DateTimeField(_("when"))
    actor = models.CharField(_("by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"], name="loyalty_levelchange_customer")]

    def __str__(self) -> str:
        return f"{self.from_level} → {self.to_level}"


# Benefit cards -----------------------------------------------------------------------------------


class CardType(models.Model):
    """A free or paid membership card (权益卡) with a validity period and bundled benefits."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    price = AmountField(_("price (0 = free)"), default=ZERO)
    validity_days = models.PositiveIntegerField(_("valid for (days)"), default=365)
    points_multiplier = models.DecimalField(
        _("points multiplier"), max_digits=4, decimal_places=2, default=Decimal("1")
    )
    discount_percent = models.DecimalField(_("member discount %"), max_digits=5, decimal_places=2, default=ZERO)
    free_shipping = models.BooleanField(_("free shipping"), default=False)
    welcome_coupon = models.ForeignKey(
        "CouponTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("coupon given with each period"),
    )
    custom_benefits = models.TextField(_("other benefits (one a line)"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="loyalty_cardtype_validity_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lt=100),
                name="loyalty_cardtype_discount_range",
            ),
        ]
        verbose_name = _("benefit card type")
        verbose_name_plural = _("benefit card types")

    def __str__(self) -> str:
        return self.name

    @property
    def benefit_lines(self) -> list[str]:
        return [line.strip() for line in self.custom_benefits.splitlines() if line.strip()]


class BenefitCard(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="benefit_cards")
    card_type = models.ForeignKey(CardType, on_delete=models.PROTECT, related_name="cards")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    amount_paid = AmountField(_("paid"), default=ZERO)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "card_type"], name="loyalty_card_one_per_type"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="loyalty_card_period_valid"),
        ]
        verbose_name = _("benefit card")
        verbose_name_plural = _("benefit cards")

    def __str__(self) -> str:
        return f"{self.card_type} of customer #{self.customer_id}"


class CardPeriod(models.Model):
    """One purchase or renewal of a card: the idempotent history behind ``ends_at``."""

    card = models.ForeignKey(BenefitCard, on_delete=models.CASCADE, related_name="periods")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    amount_paid = AmountField(_("paid"), default=ZERO)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"


# Coupons -----------------------------------------------------------------------------------------


class CouponKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_OFF = "percent_off", _("Percent off")


class CouponTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=CouponKind.choices, default=CouponKind.AMOUNT_OFF)
    amount_off = AmountField(_("amount off"), default=ZERO)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, default=ZERO)
    max_discount = AmountField(_("largest discount (0 = no cap)"), default=ZERO)
    threshold = AmountField(_("minimum spend"), default=ZERO)
    product_skus = models.JSONField(_("only these SKUs"), default=list, blank=True)
    category_codes = models.JSONField(_("only these categories"), default=list, blank=True)
    stores = models.ManyToManyField(Store, blank=True, verbose_name=_("only in these stores"), related_name="+")
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid for (days after issue, 0 = use the dates)"), default=0)
    per_customer_limit = models.PositiveIntegerField(_("most per customer (0 = no limit)"), default=1)
    total_stock = models.PositiveIntegerField(_("total stock (0 = unlimited)"), default=0)
    issued_count = models.PositiveIntegerField(_("issued"), default=0)
    return_on_refund = models.BooleanField(_("return to the customer when the order is refunded"), default=True)
    is_claimable = models.BooleanField(_("members can claim it in the member portal"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_stock=0) | Q(issued_count__lte=F("total_stock")), name="loyalty_coupon_stock_limit"
            ),
            models.CheckConstraint(
                condition=Q(percent_off__gte=0) & Q(percent_off__lte=100), name="loyalty_coupon_percent_range"
            ),
        ]
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")

    def __str__(self) -> str:
        return self.name


class CouponStatus(models.TextChoices):
    AVAILABLE = "available", _("Not issued yet")
    ISSUED = "issued", _("Issued")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")
    VOID = "void", _("Voided")


class Coupon(models.Model):
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(_("code"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="coupons")
    status = models.CharField(_("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.AVAILABLE)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_order = models.CharField(_("redeemed on order"), max_length=128, blank=True)
    discount = AmountField(_("discount given"), default=ZERO)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="available") | Q(customer__isnull=False), name="loyalty_coupon_issued_has_customer"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="loyalty_coupon_customer_state"),
            models.Index(fields=["template", "status"], name="loyalty_coupon_template_state"),
            models.Index(fields=["valid_until"], condition=Q(status="issued"), name="loyalty_coupon_open_expiry"),
        ]
        permissions = [
            ("issue_coupon", _("Can issue coupons to customers")),
            ("redeem_coupon", _("Can write off coupons and use members' assets at checkout")),
        ]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")

    def __str__(self) -> str:
        return self.code


class CouponEvent(models.Model):
    class Kind(models.TextChoices):
        ISSUE = "issue", _("Issued")
        REDEEM = "redeem", _("Redeemed")
        RETURN = "return", _("Returned")
        EXPIRE = "expire", _("Expired")
        VOID = "void", _("Voided")
        MERGE = "merge", _("Moved by a customer merge")

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    occurred_at = models.DateTimeField()
    reference = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.coupon_id}"


# Stored value top-up bonuses and checkout --------------------------------------------------------


class TopUpBonus(models.Model):
    """Pay at least ``minimum`` and get ``bonus`` on top (e.g. pay 1000 get 1100)."""

    minimum = AmountField(_("top-up of at least"), unique=True)
    bonus = AmountField(_("bonus"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["minimum"]
        constraints = [
            models.CheckConstraint(condition=Q(minimum__gt=0) & Q(bonus__gte=0), name="loyalty_topup_bonus_positive")
        ]
        verbose_name = _("top-up bonus")
        verbose_name_plural = _("top-up bonuses")

    def __str__(self) -> str:
        return f"{self.minimum} → +{self.bonus}"


class Redemption(models.Model):
    """Points, a coupon and stored value used together at a shop's checkout, undone together."""

    class Status(models.TextChoices):
        REDEEMED = "redeemed", _("Redeemed")
        REVERSED = "reversed", _("Reversed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="redemptions")
    idempotency_key = models.CharField(max_length=200, unique=True)
    order_reference = models.CharField(_("order"), max_length=128)
    cart_total = AmountField(_("cart total"))
    points = models.PositiveIntegerField(_("points"), default=0)
    points_value = AmountField(_("points value"), default=ZERO)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    coupon_discount = AmountField(_("coupon discount"), default=ZERO)
    member_discount = AmountField(_("member discount"), default=ZERO)
    promotion_discount = AmountField(_("promotion discount"), default=ZERO)
    stored_value = AmountField(_("stored value"), default=ZERO)
    amount_due = AmountField(_("left to pay"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REDEEMED)
    created_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["order_reference"], name="loyalty_redemption_order")]
        verbose_name = _("checkout redemption")
        verbose_name_plural = _("checkout redemptions")

    def __str__(self) -> str:
        return f"redemption {self.idempotency_key}"


# Goodwill ----------------------------------------------------------------------------------------


class GoodwillLimit(models.Model):
    """How much goodwill (补偿) one staff member of a role may give: per grant and per day.

    One row per role, set by an administrator; a role without a row gives none. Agents on a
    ticket and clerks at the counter go through the same check (:mod:`rapport.loyalty.services.goodwill`).
    """

    role = models.CharField(_("role"), max_length=30, unique=True)
    points_per_grant = models.PositiveIntegerField(_("most points in one grant"), default=0)
    points_per_day = models.PositiveIntegerField(_("most points a staff member gives a day"), default=0)
    coupons_per_day = models.PositiveIntegerField(_("most coupons a staff member gives a day"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role"]
        permissions = [("give_goodwill", _("Can give goodwill points and coupons within the role's limit"))]
        verbose_name = _("goodwill limit")
        verbose_name_plural = _("goodwill limits")

    def __str__(self) -> str:
        return f"{self.role}: {self.points_per_grant}/{self.points_per_day} points, {self.coupons_per_day} coupons"


class GoodwillGrant(models.Model):
    """One goodwill grant, counted against the giver's daily limit; the key makes a retry give once."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="goodwill_grants")
    staff = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="goodwill_grants"
    )
    role = models.CharField(max_length=30, blank=True)
    points = models.PositiveIntegerField(default=0)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    context = models.CharField(_("where"), max_length=60, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    granted_at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["staff", "granted_at"], name="loyalty_goodwill_staff_day")]
        verbose_name = _("goodwill grant")
        verbose_name_plural = _("goodwill grants")

    def __str__(self) -> str:
        return f"goodwill to customer #{self.customer_id}"
