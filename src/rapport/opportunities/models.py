"""Sales opportunities (销售机会) for high-value sales — custom orders, corporate gifts, VIP
appointments — moving through the ordered stages of a pipeline to won (with its order) or lost.

Stages belong to one pipeline and carry a default probability; an opportunity copies it on each
move unless the salesperson overrides it. Activities are the opportunity's history: notes, calls,
meetings and every stage change.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class StageOutcome(models.TextChoices):
    OPEN = "", _("Open")
    WON = "won", pgettext_lazy("opportunity stage", "Won")
    LOST = "lost", pgettext_lazy("opportunity stage", "Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("default probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    outcome = models.CharField(_("closes as"), max_length=4, choices=StageOutcome.choices, blank=True, default="")

    class Meta:
        ordering = ["pipeline", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="opportunities_stage_unique_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="opportunities_stage_probability"),
        ]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", pgettext_lazy("opportunity stage", "Won")
    LOST = "lost", pgettext_lazy("opportunity stage", "Lost")


class Opportunity(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="opportunities", verbose_name=_("customer")
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    title = models.CharField(_("title"), max_length=200)
    value = models.DecimalField(
        _("value"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3)
    expected_close = models.DateField(_("expected close"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"), validators=[MaxValueValidator(100)])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        verbose_name=_("owner"),
    )
    store = models.ForeignKey(
        "customers.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("store")
    )
    status = models.CharField(
        _("status"), max_length=4, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True)
    order = models.ForeignKey(
        # PROTECT: a won opportunity keeps its order (the check constraint needs one)
        "commerce.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("order"),
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["expected_close", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="opportunities_value_not_negative"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="opportunities_probability"),
            models.CheckConstraint(
                condition=~Q(status="won") | Q(order__isnull=False), name="opportunities_won_has_order"
            ),
        ]
        indexes = [
            models.Index(fields=["pipeline", "status", "stage"], name="opportunities_board"),
            models.Index(fields=["owner", "status"], name="opportunities_owner"),
        ]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.title


class ActivityKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    STAGE = "stage", _("Stage change")


class Activity(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("type"), max_length=8, choices=ActivityKind.choices, default=ActivityKind.NOTE)
    text = models.TextField(_("text"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"
