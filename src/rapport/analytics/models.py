"""Per-customer metrics, the fitted model parameters they were scored with, and saved reports.

``CustomerMetrics`` is derived data: :mod:`rapport.analytics.metrics` rewrites it from orders
(a scheduled full run, and incrementally for customers whose orders changed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import Category, MoneyField
from rapport.customers.models import Customer


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("Potential loyalists")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANNOT_LOSE = "cannot_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")


class LifecycleStage(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    REPEAT = "repeat", _("Repeat")
    DORMANT = "dormant", _("Dormant")
    CHURNED = "churned", _("Churned")


class ValueTier(models.TextChoices):
    TOP = "top", _("Top")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class PriceSensitivity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class CustomerMetrics(models.Model):
    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="metrics")
    computed_at = models.DateTimeField(_("computed at"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    recency_days = models.PositiveIntegerField(_("days since last order"), null=True, blank=True)
    monetary = MoneyField(_("net spent"), default=0)
    average_order_value = MoneyField(_("average order value"), default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=24, choices=RfmSegment.choices, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=12, choices=LifecycleStage.choices)
    value_tier = models.CharField(_("value tier"), max_length=8, choices=ValueTier.choices, blank=True)
    preferred_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("preferred category"),
        db_index=False,  # see Meta.indexes
    )
    discount_share = models.FloatField(_("share of list price discounted"), null=True, blank=True)
    price_sensitivity = models.CharField(
        _("price sensitivity"), max_length=8, choices=PriceSensitivity.choices, blank=True
    )
    clv_12m = MoneyField(_("12-month CLV"), null=True, blank=True)
    p_alive = models.FloatField(_("probability alive"), null=True, blank=True)
    expected_purchases_90d = models.FloatField(_("expected purchases in 90 days"), null=True, blank=True)
    expected_next_order_on = models.DateField(_("expected next order"), null=True, blank=True)
    churn_probability = models.FloatField(_("churn probability"), null=True, blank=True)

    class Meta:
        # The nightly run rewrites every row, and each index costs it time (at 1M customers five
        # more indexes took the write from 17 s to 30 s) while segment counts on these columns read
        # the whole table anyway: only CLV, which lists sort by, keeps one (docs/benchmarks.md).
        indexes = [models.Index(fields=["clv_12m"])]
        permissions = [("view_dashboard", _("Can view analytics dashboards"))]
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.lifecycle_stage}"


class ModelFit(models.Model):
    """One fitted model (BG/NBD, Gamma-Gamma, churn classifier, RFM breakpoints): the latest of a
    kind scores customers between full runs."""

    class Kind(models.TextChoices):
        BGNBD = "bgnbd", _("BG/NBD")
        GAMMA_GAMMA = "gamma_gamma", _("Gamma-Gamma")
        CHURN = "churn", _("Churn classifier")
        RFM = "rfm", _("RFM breakpoints")

    kind = models.CharField(_("model"), max_length=16, choices=Kind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    quality = models.JSONField(_("fit quality"), default=dict)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    fitted_at = models.DateTimeField(_("fitted at"))

    class Meta:
        ordering = ["-fitted_at", "-id"]
        indexes = [models.Index(fields=["kind", "fitted_at"])]
        verbose_name = _("model fit")
        verbose_name_plural = _("model fits")

    def __str__(self) -> str:
        return f"{self.kind} {self.fitted_at:%Y-%m-%d %H:%M}"


class SavedReport(models.Model):
    """A report of the custom report builder: dimensions, measures, filters and how to show it."""

    name = models.CharField(_("name"), max_length=120)
    definition = models.JSONField(_("definition"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analytics_reports", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="analytics_report_owner_name_unique")]
        verbose_name = _("saved report")
        verbose_name_plural = _("saved reports")

    def __str__(self) -> str:
        return self.name
