"""Tables of the privacy app: the key canary."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyCanary(models.Model):
    """One known value encrypted with the personal-data keys, so a start with other keys is noticed.

    A single row (``slot`` is always ``"keys"``): the primary key enforces it in the database.
    The fingerprints let the refusal say which key the data needs without storing the key.
    """

    slot = models.CharField(primary_key=True, max_length=8, default="keys", editable=False)
    token = models.TextField(_("encrypted canary"))
    blind_index = models.CharField(_("blind index of the canary"), max_length=64)
    encryption_key_fingerprint = models.CharField(max_length=16)
    blind_index_key_fingerprint = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("key canary")

    def __str__(self) -> str:
        return f"key canary ({self.encryption_key_fingerprint})"
