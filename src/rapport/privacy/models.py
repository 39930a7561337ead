"""Tables of the privacy app: the key canary."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.core.models import BackgroundJob


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


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Copy of personal data")
    ERASURE = "erasure", _("Erasure (account cancellation)")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Verified")
    PREPARING = "preparing", _("Preparing the copy")
    ERASING = "erasing", _("Erasing")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


OPEN_REQUEST_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.VERIFIED,
    RequestStatus.PREPARING,
    RequestStatus.ERASING,
)
# fulfilled by a background job that has not finished yet
IN_PROGRESS_STATUSES = (RequestStatus.PREPARING, RequestStatus.ERASING)


class RequestSource(models.TextChoices):
    PORTAL = "portal", _("Member portal")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    STORE = "store", _("In store")
    LETTER = "letter", _("Letter")
    API = "api", _("Shop system (API)")


class VerificationMethod(models.TextChoices):
    PORTAL_SIGN_IN = "portal_sign_in", _("Signed in to the member portal")
    ID_DOCUMENT = "id_document", _("ID document checked in person")
    PHONE_CODE = "phone_code", _("Code sent to the phone on file")
    EMAIL_CODE = "email_code", _("Code sent to the email on file")
    SHOP_ACCOUNT = "shop_account", _("Signed in to the shop's account")


class DataSubjectRequest(models.Model):
    """A customer's request for a copy of their data or for its erasure, from receipt to record.

    The row outlives the erasure it asks for: it keeps who verified what and who fulfilled it,
    but nothing personal beyond the (anonymised) customer it points at.
    """

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="data_subject_requests")
    kind = models.CharField(_("kind"), max_length=10, choices=RequestKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    source = models.CharField(_("received through"), max_length=10, choices=RequestSource.choices)
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due by"), db_index=True)
    received_by_label = models.CharField(max_length=150)
    verification_method = models.CharField(
        _("verification"), max_length=20, choices=VerificationMethod.choices, blank=True
    )
    verification_note = models.CharField(_("what was checked"), max_length=500, blank=True)
    verified_by_label = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    completed_by_label = models.CharField(max_length=150, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejecting"), max_length=500, blank=True)
    # the background job fulfilling the request (a large customer's copy or erasure would hold a web
    # worker): access builds the archive, ``archive_progress`` counting the domains exported so far;
    # erasure anonymises the customer in one transaction
    job = models.ForeignKey(
        BackgroundJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    archive_progress = models.PositiveSmallIntegerField(default=0, editable=False)
    # access: the name of the archive's file (rapport.privacy.archives: encrypted chunk by chunk
    # with the personal-data keys) until it expires; "" when there is none
    archive_file = models.CharField(max_length=200, blank=True, default="", editable=False)
    archive_expires_at = models.DateTimeField(null=True, blank=True)
    archive_downloaded_at = models.DateTimeField(null=True, blank=True)
    # erasure: what was anonymised, per kind of row
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="privacy_request_open_idx")]
        permissions = [("handle_privacy_request", _("Can verify and fulfil data-subject requests"))]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.get_status_display()})"

    @property
    def has_archive(self) -> bool:
        return bool(self.archive_file)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class ErasedIdentity(models.Model):
    """An erased customer's identity, kept only as a keyed hash: later tracking messages from it are
    stored anonymously instead of bringing the person back."""

    identity_index = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("erased identity")

    def __str__(self) -> str:
        return f"erased identity {self.identity_index[:12]}"
