"""Behaviour events received through the Segment-compatible tracking API, and their sources.

Events are the largest table: on PostgreSQL it is partitioned by month of ``timestamp`` (see
migration 0001), so there its primary key is ``(id, timestamp)``; Django only ever needs ``id``.
De-duplication by ``messageId`` lives in :class:`EventReceipt`, a small table with a plain
unique key, because a unique key on a partitioned table must include the partition column and
a client's retry is only recognisable by its message id.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.fields import EncryptedTextField
from rapport.customers.models import Customer


class Source(models.Model):
    """A shop, app or system sending events with its own write key (Segment's "source")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    identity_channel = models.CharField(
        _("identity channel"),
        max_length=40,
        help_text=_("Sources sharing a channel share user ids: the same userId is the same customer."),
    )
    write_key = EncryptedTextField(_("write key"))
    write_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("event source")
        verbose_name_plural = _("event sources")

    def __str__(self) -> str:
        return self.name


class EventType(models.TextChoices):
    IDENTIFY = "identify", "identify"
    TRACK = "track", "track"
    PAGE = "page", "page"
    SCREEN = "screen", "screen"
    ALIAS = "alias", "alias"
    GROUP = "group", "group"


class Event(models.Model):
    """One tracking call. On PostgreSQL the table is partitioned by month: see migration 0001."""

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(_("time"), help_text=_("when it happened, corrected for the client's clock"))
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=EventType.choices)
    name = models.CharField(_("event"), max_length=200, blank=True)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    user_id = models.CharField(max_length=200, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-timestamp", "-id"]
        # Every index costs each stored event about 3 µs of PostgreSQL's time (docs/benchmarks.md):
        # a customer's timeline reads (customer, name, timestamp) and sorts its few rows, and a
        # source's recent events walk the time index. Events without a customer stay out of the
        # timeline index: only the back-fill looks for them, by user or anonymous id, and left in
        # they tempt the planner (on a partition without statistics) to scan the whole NULL range.
        indexes = [
            models.Index(
                fields=["customer", "name", "timestamp"],
                name="event_customer_name_time_idx",
                condition=Q(customer__isnull=False),
            ),
            models.Index(fields=["name", "timestamp"], name="event_name_time_idx"),
            models.Index(fields=["anonymous_id"], name="event_anonymous_idx", condition=~Q(anonymous_id="")),
            models.Index(fields=["user_id"], name="event_user_idx", condition=~Q(user_id="")),
            models.Index(fields=["timestamp"], name="event_time_idx"),
        ]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.type} {self.name}".strip()

    @property
    def shown_properties(self) -> dict[str, Any]:
        """The properties as pages show them: personal values (stored sealed) masked."""
        from rapport.events.personal import masked

        return masked(self.properties)


class EventReceipt(models.Model):
    """One row per message id accepted from a source: a retry finds its receipt and is dropped.

    Written for every event, often by several requests at once: no foreign-key constraint (its
    check would lock the source row for every receipt) and no index of its own on ``source``
    (the unique key starts with it). Deleting a source still deletes its receipts (Django).
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "message_id"], name="receipt_unique_message")]

    def __str__(self) -> str:
        return self.message_id


class AnonymousVisitor(models.Model):
    """A device or browser known by its anonymous id, stitched to a customer once identified."""

    anonymous_id = models.CharField(max_length=200, unique=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="anonymous_visitors"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.anonymous_id


class ProcessingError(models.Model):
    """An accepted event whose effect (profile update, order) could not be applied."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="errors")
    message_id = models.CharField(max_length=100, blank=True)
    event_name = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class StagedMessage(models.Model):
    """A validated message accepted by the tracking API and not yet resolved (see ``resolver.py``).

    The request path only appends here (``COPY`` on PostgreSQL) and answers 200 once that commits;
    de-duplication, identities, commerce and the ``events_recorded`` signal happen when the
    resolver moves the row into :class:`Event`. Durable (a logged table) and with nothing but its
    primary key, so appending stays cheap: no foreign key, no other index.

    The fields the resolver decides by are columns; ``body`` is the message's JSON, from which
    the database itself takes ``properties``, ``traits`` and ``context`` when it copies the row
    into :class:`Event`, so those never travel back through Python.
    """

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField()
    type = models.CharField(max_length=10, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True)
    message_id = models.CharField(max_length=100)
    user_id = models.CharField(max_length=200, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True)
    previous_id = models.CharField(max_length=200, blank=True)
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField(
        help_text="the message as JSON: its properties, traits and context objects (other keys are ignored)"
    )

    def __str__(self) -> str:
        return f"staged #{self.pk}"
