"""Member portal sign-in: one-time codes and member sessions, kept apart from staff login.

Neither table stores a secret in clear: codes and session tokens are kept as keyed hashes, so a
copy of the database does not let anyone sign in as a member.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.customers.models import Customer


class SignInCode(models.Model):
    """A one-time code asked for with a phone or email; ``customer`` is empty for unknown addresses.

    Unknown addresses still get a row (and the same answer on screen) so the portal never tells a
    stranger whether a phone number or email belongs to a member.
    """

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    identifier_hash = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=10)
    code_hash = models.CharField(max_length=64)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client_ip", "created_at"], name="portal_code_ip_idx")]
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")

    def __str__(self) -> str:
        return f"{self.channel} code #{self.pk}"


class MemberSession(models.Model):
    """A signed-in member on one browser; the cookie holds the token, the table only its hash."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("member session")
        verbose_name_plural = _("member sessions")

    def __str__(self) -> str:
        return f"session #{self.pk} of customer #{self.customer_id}"
