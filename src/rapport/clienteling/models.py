"""Tasks (任务管理) on customers for the people who meet them: a call, a WeCom message, a visit,
a sample to send or a ticket to follow up, due at a time, for a staff member or a whole store.

A :class:`Contact` is a call, message, visit or appointment a staff member had with the customer: it
is on the 360 timeline and the latest one is the customer's "last contacted".

A recurring task makes its next occurrence when it is done (``previous`` links the chain, and
is unique, so completing twice makes one next task).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.customers.models import Customer, Store


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    WECOM = "wecom", _("WeCom message")
    VISIT = "visit", _("Visit")
    SAMPLE = "sample", _("Send a sample")
    TICKET = "ticket", _("Follow up a ticket")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Outcome(models.TextChoices):
    NONE = "", _("—")
    REACHED = "reached", _("Reached the customer")
    NO_ANSWER = "no_answer", _("No answer")
    INTERESTED = "interested", _("Interested")
    DECLINED = "declined", _("Not interested")
    DONE = "done", _("Done as asked")
    OPTED_OUT = "opted_out", _("Asked not to be contacted again")


class Recurrence(models.TextChoices):
    NONE = "", _("Once")
    DAILY = "daily", _("Every day")
    WEEKLY = "weekly", _("Every week")
    MONTHLY = "monthly", _("Every month")


class TaskSource(models.TextChoices):
    MANUAL = "manual", _("Created by hand")
    SEGMENT = "segment", _("Bulk for a segment")
    JOURNEY = "journey", _("Journey step")
    ALERT = "alert", _("Alert")


class Task(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("customer"))
    kind = models.CharField(_("type"), max_length=10, choices=TaskKind.choices, default=TaskKind.CALL)
    title = models.CharField(_("title"), max_length=200)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("assignee"),
    )
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks", verbose_name=_("store")
    )
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True, default="")
    notes = models.TextField(_("notes"), blank=True)
    recurrence = models.CharField(_("repeats"), max_length=8, choices=Recurrence.choices, blank=True, default="")
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_occurrence"
    )
    source = models.CharField(_("source"), max_length=10, choices=TaskSource.choices, default=TaskSource.MANUAL)
    source_ref = models.CharField(_("source reference"), max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "-priority", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(assignee__isnull=False) | Q(store__isnull=False), name="clienteling_task_has_assignee"
            )
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="clienteling_task_assignee"),
            models.Index(fields=["store", "status", "due_at"], name="clienteling_task_store"),
            models.Index(fields=["customer", "status"], name="clienteling_task_customer"),
        ]
        permissions = [("manage_tasks", _("Can create tasks in bulk and see everyone's completion"))]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title


class ContactKind(models.TextChoices):
    CALL = "call", _("Call")
    MESSAGE = "message", _("Message (WeCom)")
    VISIT = "visit", _("Store visit")
    APPOINTMENT = "appointment", _("Appointment")
    # recorded by the system when the customer opens a link a staff member shared, never by hand
    LINK = "link", _("Shared link opened")


class ContactPurpose(models.TextChoices):
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")


class Contact(models.Model):
    """A contact a staff member had with the customer, as they recorded it (never dated after now)."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    kind = models.CharField(_("type"), max_length=12, choices=ContactKind.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ContactPurpose.choices)
    note = models.TextField(_("note"), blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task = models.OneToOneField(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="contact", verbose_name=_("task")
    )
    occurred_at = models.DateTimeField(_("when"))
    created_at = models.DateTimeField(_("recorded"))

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="clienteling_contact_customer"),
            models.Index(fields=["staff", "-occurred_at"], name="clienteling_contact_staff"),
        ]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class SharedLink(models.Model):
    """A product or page link a staff member shared with a customer (copied into WeCom, SMS…), under a
    token of its own (``/s/<token>``): opening it is recorded on the link and, the first time, as a
    contact of the sharer, so the contact rule of staff performance counts it."""

    id = models.BigAutoField(primary_key=True)
    token = models.CharField(max_length=32, unique=True, editable=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="shared_links", verbose_name=_("customer")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    url = models.URLField(_("link"), max_length=500)
    title = models.CharField(_("title"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("shared"))
    first_opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    last_opened_at = models.DateTimeField(_("last opened"), null=True, blank=True)
    opens = models.PositiveIntegerField(_("opens"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="clienteling_link_customer")]
        verbose_name = _("shared link")
        verbose_name_plural = _("shared links")

    def __str__(self) -> str:
        return self.title or self.url


class ReminderReason(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    ANNIVERSARY = "anniversary", _("Membership anniversary")
    POINTS = "points", _("Points about to expire")
    COUPON = "coupon", _("Coupon about to expire")
    NEXT_ORDER = "next_order", _("Expected order overdue")
    QUIET = "quiet", _("High-value customer gone quiet")
    COMPLAINT = "complaint", _("Complaint opened")
    LEVEL = "level", _("Level about to drop")
    LEVEL_DROPPED = "level_down", _("Level dropped")


class ReminderStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")


class Reminder(models.Model):
    """A care reminder (关怀提醒) on an owner's daily list: one per customer, reason and day, made by the
    daily job; done, or snoozed (``show_on`` moves on).

    An *alert* is a reminder made as its event happens (a complaint opened, a level lowered) by
    :mod:`rapport.clienteling.alerts`: ``event`` names the event (once per event, the database says
    so) and ``alerted_at`` is when the owner was notified (in the app; by email if they want it)."""

    id = models.BigAutoField(primary_key=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=12, choices=ReminderReason.choices)
    day = models.DateField(_("day"))
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ReminderStatus.choices, default=ReminderStatus.OPEN)
    show_on = models.DateField(_("show on"))
    created_at = models.DateTimeField(_("created"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    event = models.CharField(_("event"), max_length=40, blank=True, default="")
    alerted_at = models.DateTimeField(_("alerted at"), null=True, blank=True)

    class Meta:
        ordering = ["show_on", "reason", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "reason", "day"], name="clienteling_reminder_once_a_day"),
            models.UniqueConstraint(fields=["event"], condition=~Q(event=""), name="clienteling_alert_once_an_event"),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "show_on"], name="clienteling_reminder_list"),
            models.Index(fields=["day", "reason"], name="clienteling_reminder_day"),
        ]
        verbose_name = _("care reminder")
        verbose_name_plural = _("care reminders")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} #{self.pk}"


class AlertSettings(models.Model):
    """How a staff member wants alerts about their customers: always in the app (the home page and
    their reminder list), and by email unless they turn it off. No row: the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    by_email = models.BooleanField(_("also by email"), default=True)

    class Meta:
        verbose_name = _("alert settings")
        verbose_name_plural = _("alert settings")

    def __str__(self) -> str:
        return f"{self.user_id}: {'email' if self.by_email else 'app'}"
