"""Precomputed recommendations, related products, the merchant's rules and each training run.

Lists are written by the scheduled training (:mod:`rapport.recommendations.services`); stock,
exclusions and boosts are applied when a list is asked for, so they take effect at once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import Category, Product
from rapport.customers.models import Customer


class Reason(models.TextChoices):
    BOUGHT = "bought", _("Because you bought %(product)s")
    VIEWED = "viewed", _("Because you viewed %(product)s")
    TOGETHER = "together", _("Often bought with %(product)s")
    SIMILAR = "similar", _("Similar to %(product)s")
    POPULAR_CITY = "popular_city", _("Popular in %(city)s")
    POPULAR = "popular", _("Popular right now")


class Recommendation(models.Model):
    """A customer's ranked candidates, longer than any list asked for so that filtering leaves
    enough: ``items`` holds parallel lists ``products``, ``scores``, ``reasons`` and ``because``
    (the product a reason names, 0 for none) — compact, as a million of them are written nightly."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="+")
    items = models.JSONField(default=dict)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return f"{self.customer_id}: {len(self.items)}"


class RelatedProduct(models.Model):
    """A product shown beside another: bought together (with the rule's measures) or similar."""

    class Kind(models.TextChoices):
        TOGETHER = "together", _("Frequently bought together")
        SIMILAR = "similar", _("Similar")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    related = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    support = models.FloatField(null=True)
    confidence = models.FloatField(null=True)
    lift = models.FloatField(null=True)

    class Meta:
        ordering = ["product", "kind", "rank"]
        constraints = [models.UniqueConstraint(fields=["product", "kind", "rank"], name="related_product_rank")]
        verbose_name = _("related product")
        verbose_name_plural = _("related products")

    def __str__(self) -> str:
        return f"{self.product_id} → {self.related_id} ({self.kind})"


class Rule(models.Model):
    """What a merchant decides: never show a product or category, show it more, or let a
    category be recommended again after a purchase (consumables; everything else is durable)."""

    class Kind(models.TextChoices):
        EXCLUDE = "exclude", _("Never recommend")
        BOOST = "boost", _("Boost")
        REPEAT = "repeat", _("Recommend again after a purchase")

    kind = models.CharField(_("rule"), max_length=10, choices=Kind.choices)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField(_("boost factor"), default=1.0)
    created_at = models.DateTimeField(auto_now_add=True)
    # With the number of rules, the rules' version: each process keeps its copy until it changes.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=True) ^ Q(category__isnull=True), name="rule_names_product_or_category"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="rule_weight_positive"),
        ]
        verbose_name = _("recommendation rule")
        verbose_name_plural = _("recommendation rules")

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id or self.category_id}"


class TrainingRun(models.Model):
    """One scheduled training: its size, how long it took, the popularity lists for customers
    without history, and the backtest of ALS against popularity on the same data."""

    trained_at = models.DateTimeField(_("trained at"))
    seconds = models.FloatField(default=0)
    customers = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    interactions = models.PositiveIntegerField(default=0)
    popular = models.JSONField(default=dict)  # {"": [product ids], city: [product ids]}
    backtest = models.JSONField(default=dict)

    class Meta:
        ordering = ["-trained_at", "-id"]
        verbose_name = _("recommendation training run")
        verbose_name_plural = _("recommendation training runs")

    def __str__(self) -> str:
        return f"training {self.trained_at:%Y-%m-%d %H:%M}"
