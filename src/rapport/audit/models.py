"""The audit log: one row per write done through a service and per reveal of personal data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.core.actor import Source
from rapport.core.fields import SubjectSealedJSONField, SubjectSealedTextField


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        REVEAL = "reveal", _("Reveal personal data")
        IMPORT = "import", _("Import")
        LOGIN = "login", _("Sign in")
        TOKEN = "token", _("API token")
        ASSIGN = "assign", _("Assign")
        MERGE = "merge", _("Merge")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(max_length=20, choices=Source.CHOICES)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    # about a customer (or a row of theirs): sealed with the customer's key, unreadable after their
    # erasure (crypto-shredding); what happened, when and by whom stays
    object_repr = SubjectSealedTextField(blank=True, subject="sealing_subject")
    changes = SubjectSealedJSONField(default=dict, blank=True, subject="sealing_subject")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["action", "created_at"]),
        ]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"

    @property
    def sealing_subject(self) -> int | None:
        """The customer this entry is about, whose key seals its description and changes: set by
        :func:`rapport.audit.services.record`; an entry about a customer row itself otherwise."""
        if hasattr(self, "_sealing_subject"):
            return self._sealing_subject
        if self.object_type == "customers.customer" and str(self.object_id).isdigit():
            return int(self.object_id)
        return None
