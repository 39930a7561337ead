"""Tag categories, tags, who holds which tag, the history of every add/remove, tag templates,
and the outbox that syncs tag changes to third-party systems.

Business rules live in :mod:`rapport.tags.services`; these are tables and constraints only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.fields import EncryptedTextField
from rapport.customers.models import Customer, Store


class TagSource(models.TextChoices):
    """The path a tag came to (or left) a customer through."""

    CONSOLE = "console", _("Console")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    RULE = "rule", _("Rule")
    BATCH = "batch", _("Batch")
    TEMPLATE = "template", _("Template")
    MERGE = "merge", _("Merge")
    SYSTEM = "system", _("System")


class TagCategory(models.Model):
    """A group of tags (标签分类): lifecycle, value, interests, service…"""

    name = models.CharField(_("name"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("tag category")
        verbose_name_plural = _("tag categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label (标签) customers hold: added by people (manual) or kept by a rule (automatic)."""

    class Type(models.TextChoices):
        MANUAL = "manual", _("Manual")
        AUTOMATIC = "automatic", _("Automatic")

    category = models.ForeignKey(TagCategory, on_delete=models.PROTECT, related_name="tags", verbose_name=_("category"))
    name = models.CharField(_("name"), max_length=60)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.MANUAL)
    description = models.CharField(_("description"), max_length=300, blank=True)
    colour = models.CharField(_("colour"), max_length=7, default="#5b6b8c")
    store = models.ForeignKey(
        Store,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("scope"),
        help_text=_("empty: all stores; otherwise only this store's customers can hold the tag"),
    )
    rule = models.JSONField(_("rule"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__position", "category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="tag_name_unique_in_category"),
            models.CheckConstraint(
                condition=Q(type="manual", rule__isnull=True) | Q(type="automatic", rule__isnull=False),
                name="tag_rule_only_for_automatic",
            ),
        ]
        permissions = [
            ("tag_customer", _("Can add and remove manual tags on customers")),
            ("batch_tag", _("Can tag customers in batches")),
            ("evaluate_tag", _("Can run automatic tags now")),
        ]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return f"{self.category.name}/{self.name}"

    @property
    def is_automatic(self) -> bool:
        return self.type == self.Type.AUTOMATIC


class CustomerTag(models.Model):
    """A customer holds a tag. At most once: the database refuses a second row."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="holders")
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by_label = models.CharField(max_length=150)
    source = models.CharField(_("source"), max_length=10, choices=TagSource.choices)

    class Meta:
        ordering = ["tag__category__position", "tag__name"]
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")]
        indexes = [models.Index(fields=["tag", "customer"], name="customer_tag_by_tag_idx")]
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")

    def __str__(self) -> str:
        return f"#{self.customer_id} {self.tag_id}"


class TagBatch(models.Model):
    """One batch operation: a filtered list, an uploaded id file or a segment rule, tagged at once."""

    class Kind(models.TextChoices):
        FILTER = "filter", _("Filtered customer list")
        FILE = "file", _("Uploaded id list")
        IDS = "ids", _("Id list")
        SEGMENT = "segment", _("Segment rule")

    class Action(models.TextChoices):
        ADD = "add", _("Add")
        REMOVE = "remove", _("Remove")

    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="batches")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    params = models.JSONField(default=dict, blank=True)
    matched = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tag batch")
        verbose_name_plural = _("tag batches")

    def __str__(self) -> str:
        return f"{self.action} {self.tag_id} ({self.kind})"


class TagHistory(models.Model):
    """Append-only: a tag was added to or removed from a customer — by whom or which rule, when."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    customer_id = models.BigIntegerField(db_index=True)
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="history")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(max_length=10, choices=TagSource.choices)
    batch = models.ForeignKey(TagBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=200, blank=True, help_text=_("the rule, batch or merge behind it"))
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer_id", "at"], name="tag_history_customer_idx"),
            models.Index(fields=["tag", "at"], name="tag_history_tag_idx"),
        ]
        verbose_name = _("tag history entry")
        verbose_name_plural = _("tag history")

    def __str__(self) -> str:
        return f"#{self.customer_id} {self.action} {self.tag_id}"


class TagTemplate(models.Model):
    """A named, reusable set of categories and tags (标签模板), instantiated in one click."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    definition = models.JSONField(_("definition"), default=dict)
    is_builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_builtin", "name"]
        verbose_name = _("tag template")
        verbose_name_plural = _("tag templates")

    def __str__(self) -> str:
        return self.name


# Tag sync -----------------------------------------------------------------------------------


class SyncEndpoint(models.Model):
    """A third-party system that hears about tag changes through an adapter (``webhook``…)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    adapter = models.CharField(_("adapter"), max_length=30, default="webhook")
    url = models.URLField(_("URL"), max_length=500)
    secret = EncryptedTextField(_("signing secret"))
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", help_text=_("only changes of these tags; none selected: every tag")
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts before dead letter"), default=8)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sync endpoint")
        verbose_name_plural = _("sync endpoints")

    def __str__(self) -> str:
        return self.name


class SyncDelivery(models.Model):
    """The outbox: one tag change for one endpoint, delivered at least once or dead-lettered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead letter")

    endpoint = models.ForeignKey(SyncEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="sync_delivery_due_idx"),
            models.Index(fields=["endpoint", "status"], name="sync_delivery_endpoint_idx"),
        ]
        permissions = [("retry_delivery", _("Can retry dead-lettered tag sync deliveries"))]
        verbose_name = _("sync delivery")
        verbose_name_plural = _("sync deliveries")

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.event_id} ({self.status})"
