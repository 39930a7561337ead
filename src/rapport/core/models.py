"""The kernel's one table: the record of each long background job, so a dead worker is noticed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")
    STALLED = "stalled", _("Stalled (its worker stopped)")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.STALLED, JobStatus.CANCELLED)


class BackgroundJob(models.Model):
    """One run of a tracked task (see :mod:`rapport.core.jobs`): its arguments, its state and the
    heartbeat its runner writes while it works. A running job whose heartbeat stops is stalled."""

    task = models.CharField(_("task"), max_length=120)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    resumable = models.BooleanField(
        _("resumable"), default=False, help_text=_("Run again after a dead worker; it continues where it stopped.")
    )
    status = models.CharField(_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="core_job_status_beat")]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class SubjectKey(models.Model):
    """A customer's own data key (crypto-shredding, see :mod:`rapport.core.shredding`): their values
    in append-only history (change records, audit entries) are encrypted with it, so erasing the
    customer deletes this row and nothing written under it can be read again. The key itself is
    stored encrypted under the installation's key ring."""

    subject_id = models.BigIntegerField(primary_key=True)  # the customer's id
    wrapped_key = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer data key")
        verbose_name_plural = _("customer data keys")

    def __str__(self) -> str:
        return f"key of customer #{self.subject_id}"
