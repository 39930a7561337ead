"""The member's rotating code (会员码) shown in the portal and scanned at the counter.

A code is short and numeric, so 1D and 2D scanners read it, lives a few minutes and is good for
one look-up: a screenshot kept for later is refused. Only a keyed hash of it is stored.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.customers.models import Customer


class MemberCode(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="member_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        permissions = [("use_counter", _("Can serve members at the store counter"))]
        verbose_name = _("member code")
        verbose_name_plural = _("member codes")

    def __str__(self) -> str:
        return f"member code #{self.pk} of customer #{self.customer_id}"
