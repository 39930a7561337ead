"""Operation plans (运营计划), their steps, who is where in each plan, and every message sent.

* :class:`Plan` — a one-off send, a recurring send or a triggered journey, with its steps.
* :class:`Enrollment` — one customer's way through one plan (per entry: a recurring run, a
  triggering order…): the current step, when it wakes, the random hold-out and A/B bucket.
  Persisting it is what lets a killed worker resume exactly where it stopped.
* :class:`SplitDecision` — which branch an enrollment took at a condition split (for the report).
* :class:`Message` — one send: exactly once per (enrollment, step), enforced by a unique
  constraint; suppressed sends are rows too, with the reason, so every decision is visible.
* :class:`ChannelPolicy` — per channel: the gateway behind it, frequency caps, quiet hours.
* :class:`SiteMessage` — what the site channel delivers to.
* :class:`Bounce` / :class:`EmailSuppression` — email returned undelivered, and the addresses
  no email goes to any more because of it.

Business rules live in :mod:`rapport.campaigns.services` and :mod:`rapport.campaigns.journeys.engine`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.fields import EncryptedTextField
from rapport.customers.models import Customer
from rapport.segments.models import Segment


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("App push")
    MINI_PROGRAM = "mini_program", _("Mini-program message")
    WECHAT = "wechat", _("WeCom / WeChat")
    SITE = "site", _("Site message")
    CALL = "call", _("Outbound call")
    STAFF = "staff", _("Staff notification")


# The consent ledger knows these channels; a mini-program subscription message rides on WeChat's.
CONSENT_CHANNEL = {
    ChannelKind.EMAIL: "email",
    ChannelKind.SMS: "sms",
    ChannelKind.PUSH: "push",
    ChannelKind.MINI_PROGRAM: "wechat",
    ChannelKind.WECHAT: "wechat",
    ChannelKind.SITE: "site",
    ChannelKind.CALL: "call",
}
GATEWAY_CHANNELS = (ChannelKind.SMS, ChannelKind.PUSH, ChannelKind.MINI_PROGRAM, ChannelKind.WECHAT)
# Outbound calls are no longer sent: a "create task" step gives staff a call task (clienteling). The
# channel stays so that the messages and templates of the old call list keep their label.
CUSTOMER_CHANNELS = [c for c in ChannelKind if c not in (ChannelKind.STAFF, ChannelKind.CALL)]


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")


class ContentTemplate(models.Model):
    """A message's words: plain text personalised with a sandboxed template (see docs/campaigns.md),
    or, for email, a list of blocks (:mod:`rapport.campaigns.delivery.blocks`) rendered to HTML
    and text. A template with blocks has an empty ``body``; one without is plain text as before."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    subject = models.CharField(_("subject / title"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    blocks = models.JSONField(_("email blocks"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("content template")
        verbose_name_plural = _("content templates")

    def __str__(self) -> str:
        return self.name


class ChannelPolicy(models.Model):
    """How one channel sends: its HTTP gateway (if any), caps per customer, quiet hours."""

    channel = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices, unique=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    gateway_url = models.URLField(_("gateway URL"), blank=True)
    gateway_secret = EncryptedTextField(_("gateway secret"), blank=True, default="")
    daily_cap = models.PositiveSmallIntegerField(_("marketing messages per customer per day"), default=2)
    weekly_cap = models.PositiveSmallIntegerField(_("marketing messages per customer per week"), default=5)
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(_("attempts before giving up"), default=5)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel"]
        verbose_name = _("channel policy")
        verbose_name_plural = _("channel policies")

    def __str__(self) -> str:
        return self.get_channel_display()

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start is not None and self.quiet_end is not None and self.quiet_start != self.quiet_end


class Plan(models.Model):
    class Kind(models.TextChoices):
        ONE_OFF = "one_off", _("One-off send")
        RECURRING = "recurring", _("Recurring send")
        JOURNEY = "journey", _("Triggered journey")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Recurrence(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class Reentry(models.TextChoices):
        ONCE = "once", _("Once per customer")
        EVERY = "every", _("Every time the trigger fires")

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ONE_OFF)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("segment")
    )
    trigger = models.JSONField(_("trigger"), default=dict, blank=True)
    reentry = models.CharField(_("re-entry"), max_length=8, choices=Reentry.choices, default=Reentry.EVERY)
    starts_at = models.DateTimeField(_("send at"), null=True, blank=True)
    recurrence = models.CharField(_("repeat"), max_length=10, choices=Recurrence.choices, blank=True)
    ends_at = models.DateTimeField(_("stop at"), null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    control_percent = models.PositiveSmallIntegerField(_("hold-out control group %"), default=0)
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"), default=7)
    dedup_group = models.SlugField(_("de-duplication group"), max_length=40, blank=True)
    dedup_hours = models.PositiveSmallIntegerField(_("de-duplication window (hours)"), default=24)
    respect_quiet_hours = models.BooleanField(_("respect quiet hours"), default=True)
    trigger_cursor = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(control_percent__lte=50), name="plan_control_at_most_half"),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="plan_status_kind_idx")]
        permissions = [("launch_plan", _("Can launch, pause and cancel operation plans"))]
        verbose_name = _("operation plan")
        verbose_name_plural = _("operation plans")

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def attribution_window(self) -> dt.timedelta:
        return dt.timedelta(days=self.attribution_days)


class Step(models.Model):
    class Kind(models.TextChoices):
        WAIT = "wait", _("Wait")
        SPLIT = "split", _("Condition split")
        SEND = "send", _("Send message")
        RECOMMEND = "recommend", _("Send recommendations")
        COUPON = "coupon", _("Issue coupon")
        POINTS = "points", _("Issue points")
        ADD_TAG = "add_tag", _("Add tag")
        REMOVE_TAG = "remove_tag", _("Remove tag")
        NOTIFY = "notify", _("Notify staff")
        TASK = "task", _("Create task")
        PROMOTION = "promotion", _("Grant personal promotion")
        END = "end", _("End")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    config = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [models.UniqueConstraint(fields=["plan", "position"], name="step_position_unique")]
        verbose_name = _("step")
        verbose_name_plural = _("steps")

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"


# Steps that write a message to the customer from a content template (channel, purpose, A/B
# variants): a send, and a send of the customer's recommendations (those who have none skip it).
MESSAGE_STEPS = (Step.Kind.SEND, Step.Kind.RECOMMEND)


class Enrollment(models.Model):
    """One customer's way through a plan, persisted step by step."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        WAITING = "waiting", _("Waiting")
        DONE = "done", _("Done")
        HELD_OUT = "held_out", _("Hold-out control")
        EXITED = "exited", _("Exited")

    BUCKETS = 10_000

    id = models.BigAutoField(primary_key=True)
    # Foreign keys without their own index: the composite indexes below lead with them.
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    entry_key = models.CharField(max_length=80)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    # The database's foreign key refuses deleting a step someone is at; Django need not look first.
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    wake_at = models.DateTimeField(null=True, blank=True)
    bucket = models.PositiveSmallIntegerField(help_text="random 0–9999: hold-out below control %, then A/B")
    context = models.JSONField(default=dict, blank=True)
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "customer", "entry_key"], name="enrollment_once_per_entry"),
        ]
        indexes = [
            models.Index(fields=["plan", "state", "step"], name="enrollment_progress_idx"),
            models.Index(fields=["state", "wake_at"], name="enrollment_wake_idx"),
            models.Index(fields=["customer", "plan"], name="enrollment_customer_idx"),
        ]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.customer_id}/{self.entry_key}"


class SplitDecision(models.Model):
    """The branch one enrollment took at a condition split: what the report counts per branch.

    Written in the transaction that moves the enrollment on; a redone chunk finds it already there.
    """

    class Branch(models.TextChoices):
        YES = "yes", _("Yes")
        NO = "no", _("No")

    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="+", db_index=False)
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="decisions")
    branch = models.CharField(max_length=3, choices=Branch.choices)
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="split_decision_once_per_enrollment"),
        ]
        verbose_name = _("split decision")
        verbose_name_plural = _("split decisions")

    def __str__(self) -> str:
        return f"{self.enrollment_id}@{self.step_id}: {self.branch}"


class Message(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        SUPPRESSED = "suppressed", _("Suppressed")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        NO_CONSENT = "no_consent", _("No consent")
        FREQUENCY_CAP = "frequency_cap", _("Frequency cap")
        DUPLICATE = "duplicate", _("Sent by another plan")
        NO_ADDRESS = "no_address", _("No address")
        CHANNEL_OFF = "channel_off", _("Channel disabled")
        PLAN_CANCELLED = "plan_cancelled", _("Plan cancelled")
        BOUNCED = "bounced", _("Address bounced")

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20, choices=ChannelKind.choices)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.MARKETING)
    template = models.ForeignKey(
        ContentTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    variant = models.CharField(max_length=20, blank=True)
    dedup_group = models.CharField(max_length=40, blank=True)
    reference = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    not_before = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Exactly once per (plan, step, customer, entry): the idempotency key of every send.
            models.UniqueConstraint(fields=["enrollment", "step"], name="message_once_per_enrollment_step"),
        ]
        indexes = [
            models.Index(fields=["status", "channel", "not_before"], name="message_due_idx"),
            models.Index(fields=["customer", "channel", "created_at"], name="message_cap_idx"),
            models.Index(fields=["plan", "status"], name="message_plan_status_idx"),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        """The idempotency key providers see; stable across retries."""
        return f"rapport-{self.pk}"


class SiteMessage(models.Model):
    """A message in the member's portal inbox (站内信)."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="site_message_inbox_idx")]
        verbose_name = _("site message")
        verbose_name_plural = _("site messages")

    def __str__(self) -> str:
        return self.title


class Bounce(models.Model):
    """An email the receiving side returned undelivered (a DSN or a provider's bounce webhook).

    At most one per message: a DSN delivered twice, or reported by both the listener and a
    webhook, is recorded once (the unique message is the idempotency key).
    """

    class Kind(models.TextChoices):
        HARD = "hard", _("Hard (permanent)")
        SOFT = "soft", _("Soft (temporary)")

    class Source(models.TextChoices):
        SMTP = "smtp", _("Returned mail (DSN)")
        WEBHOOK = "webhook", _("Provider webhook")

    id = models.BigAutoField(primary_key=True)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="bounce")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The blind index of the address the message went to: suppression follows the address.
    address_index = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    status = models.CharField(_("status code"), max_length=12, blank=True)
    diagnostic = models.CharField(_("diagnostic"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("bounce")
        verbose_name_plural = _("bounces")

    def __str__(self) -> str:
        return f"{self.kind} bounce {self.status} of rapport-{self.message_id}"


class EmailSuppression(models.Model):
    """An email address nothing is sent to any more (it bounced), with the evidence why.

    Keyed by the address's blind index, like the customer's own email: every customer holding
    the address is suppressed, and a customer who changes to a working address is not.
    """

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("Bounced")

    address_index = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices, default=Reason.BOUNCED)
    evidence = models.CharField(_("evidence"), max_length=300)
    created_at = models.DateTimeField(_("suppressed at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("email suppression")
        verbose_name_plural = _("email suppressions")

    def __str__(self) -> str:
        return f"{self.reason}: {self.evidence[:60]}"
