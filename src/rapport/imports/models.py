"""Import jobs: a file of customers, orders or products, its progress and its row report."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        ORDERS = "orders", _("Orders")
        PRODUCTS = "products", _("Products")
        REFUNDS = "refunds", _("Refunds")
        LOYALTY = "loyalty", _("Loyalty opening balances")
        EVENTS = "events", _("Behaviour events (JSON Lines)")
        STOCK = "stock", _("Stock levels")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Mode(models.TextChoices):
        HISTORY = "history", _("History (no messages, points or journeys)")
        LIVE = "live", _("Live (as if the orders happened now)")

    class Phase(models.TextChoices):
        WAITING = "", _("Waiting")
        READING = "reading", _("Reading")
        CLEANING = "cleaning", _("Cleaning")
        MERGING = "merging", _("Merging")
        RECOMPUTING = "recomputing", _("Recomputing")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    file_path = models.CharField(max_length=500)
    original_name = models.CharField(_("file"), max_length=255)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # the export the file comes from (rapport.imports.presets): its columns mapped by name
    preset = models.CharField(_("export from"), max_length=20, blank=True)
    channel = models.CharField(_("channel"), max_length=40, default="import")
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.HISTORY)
    phase = models.CharField(_("phase"), max_length=12, choices=Phase.choices, default="", blank=True)
    # the last file line whose chunk is committed: a resumed job starts after it
    committed_line = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    unchanged_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    report_path = models.CharField(max_length=500, blank=True)
    first_errors = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0


class DeferredIndex(models.Model):
    """An index a first load set aside (dropped) to build once after it (:mod:`rapport.imports.indexes`).

    Written in the transaction that drops the index and deleted in the one that builds it again,
    so a job killed mid-load leaves the record, and the next import rebuilds what it names.
    """

    table = models.CharField(max_length=63)
    name = models.CharField(max_length=200, unique=True)
    definition = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
