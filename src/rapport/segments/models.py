"""Saved segments, segment templates, and membership snapshots with who entered and who left.

A segment's ``rule`` is the cleaned JSON rule (see ``docs/segment-rules.md``). ``SegmentMember``
holds the membership as of the latest snapshot, so the next snapshot can find entries and exits
with set operations in the database; ``SegmentMembershipChange`` keeps that history per snapshot.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    rule = models.JSONField(_("rule"))
    is_template = models.BooleanField(_("template"), default=False)
    template_key = models.SlugField(
        _("template key"), max_length=60, blank=True, help_text=_("stable key of a template shipped with Rapport")
    )
    snapshot_schedule = models.BooleanField(
        _("daily snapshot"), default=True, help_text=_("record who entered and who left once a day")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_count = models.PositiveIntegerField(_("last count"), null=True, blank=True)
    last_counted_at = models.DateTimeField(_("last counted at"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template_key"], condition=~Q(template_key=""), name="segment_template_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["is_template", "name"], name="segment_template_name_idx")]
        permissions = [("export_segment", _("Can export segment members"))]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class SegmentSnapshot(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(_("taken at"))
    member_count = models.PositiveIntegerField(_("members"), default=0)
    entered_count = models.PositiveIntegerField(_("entered"), default=0)
    left_count = models.PositiveIntegerField(_("left"), default=0)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["segment", "-taken_at"], name="segment_snapshot_time_idx")]
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")

    def __str__(self) -> str:
        return f"{self.segment_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class SegmentMember(models.Model):
    """A customer in the segment as of its latest snapshot (no foreign key: merges and erasure
    may remove the customer; the next snapshot records them as having left)."""

    id = models.BigAutoField(primary_key=True)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer_id"], name="segment_member_unique"),
        ]
        indexes = [models.Index(fields=["customer_id"], name="segment_member_customer_idx")]
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.customer_id}"


class SegmentMembershipChange(models.Model):
    class Change(models.TextChoices):
        ENTERED = "entered", _("Entered")
        LEFT = "left", _("Left")

    id = models.BigAutoField(primary_key=True)
    snapshot = models.ForeignKey(SegmentSnapshot, on_delete=models.CASCADE, related_name="changes")
    customer_id = models.BigIntegerField()
    change = models.CharField(_("change"), max_length=10, choices=Change.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "customer_id"], name="segment_change_unique"),
        ]
        indexes = [
            models.Index(fields=["snapshot", "change"], name="segment_change_kind_idx"),
            models.Index(fields=["customer_id"], name="segment_change_customer_idx"),
        ]
        verbose_name = _("segment membership change")
        verbose_name_plural = _("segment membership changes")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.change}"
