"""Customer service (客户服务): tickets (工单) with their messages, attachments and history, agents
and assignment rules, SLA policies and business hours, canned replies, inbound mail, the
knowledge base (知识库), self-service bot conversations and satisfaction surveys (CSAT).

Business rules live in :mod:`rapport.service.services` and its sibling modules; these are
tables and constraints only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.commerce.models import Order
from rapport.core.fields import BlindSearchField, EncryptedBinaryField, EncryptedTextField, SubjectSealedJSONField
from rapport.customers.models import Customer, Store


class Category(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    COMPLAINT = "complaint", _("Complaint")
    AFTER_SALES = "after_sales", _("After-sales / return")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")  # not the lifecycle stage "New" (新客)
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class TicketChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Contact form")
    CHAT = "chat", _("Chat")
    API = "api", _("API")
    CONSOLE = "console", _("Staff")


class AgentProfile(models.Model):
    """A staff member who works tickets: available for assignment or not, a team lead or not."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_profile")
    is_available = models.BooleanField(_("available for new tickets"), default=True)
    is_lead = models.BooleanField(_("team lead"), default=False, help_text=_("receives escalations"))
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text=_("round-robin order"))

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("service agent")
        verbose_name_plural = _("service agents")

    def __str__(self) -> str:
        return str(self.user)


class AssignmentRule(models.Model):
    """New tickets matching the category and store go round-robin to the available agents listed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("agents"))
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for one priority, in business minutes (the store's opening hours)."""

    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (business minutes)"))
    warn_before_minutes = models.PositiveIntegerField(_("warn this many business minutes before"), default=30)

    class Meta:
        ordering = ["priority"]
        constraints = [
            models.CheckConstraint(condition=Q(first_response_minutes__gt=0), name="sla_first_response_positive"),
            models.CheckConstraint(condition=Q(resolution_minutes__gt=0), name="sla_resolution_positive"),
        ]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.priority


class BusinessHours(models.Model):
    """Opening hours of one weekday (0 = Monday) for one store, or for every store when blank."""

    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["store_id", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["store", "weekday"], name="business_hours_store_weekday_unique"),
            models.UniqueConstraint(
                fields=["weekday"], condition=Q(store__isnull=True), name="business_hours_default_weekday_unique"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="business_hours_weekday_range"),
            models.CheckConstraint(condition=Q(opens__lt=models.F("closes")), name="business_hours_opens_first"),
        ]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self) -> str:
        return f"{self.store_id or '*'} {self.weekday} {self.opens}-{self.closes}"


class Ticket(models.Model):
    """One customer's request (工单) and where it stands, with its SLA deadlines."""

    # encrypted at rest (customers put names, phones and emails in subjects); searched by the blind
    # tokens of its words, the only form of it the database holds in the clear
    subject = EncryptedTextField(_("subject"))
    subject_search = BlindSearchField(source="subject")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.INQUIRY)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(_("channel"), max_length=10, choices=TicketChannel.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="service_tickets"
    )
    reply_to = EncryptedTextField(blank=True, help_text=_("the address the customer wrote from"))
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA: deadlines in UTC, computed in the store's business hours; the resolution clock stops
    # while the ticket waits on the customer and its deadline moves by the business time paused.
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True, db_index=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(default=0)
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    warned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "assignee"], name="ticket_status_assignee_idx"),
            models.Index(fields=["customer", "created_at"], name="ticket_customer_idx"),
            models.Index(fields=["category", "created_at"], name="ticket_category_idx"),
        ]
        permissions = [
            ("work_ticket", _("Can reply to, note, assign and change tickets")),
            ("merge_ticket", _("Can merge duplicate tickets")),
            ("view_service_reports", _("Can see service reports")),
            ("give_goodwill", _("Can give goodwill coupons or points from a ticket")),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return f"T-{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in (Status.NEW, Status.OPEN, Status.PENDING)


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent reply")
    NOTE = "note", _("Internal note")
    BOT = "bot", _("Bot transcript")


class TicketMessage(models.Model):
    """A message on a ticket: the customer's, an agent's reply, or an internal note."""

    class Delivery(models.TextChoices):
        NONE = "", _("Not sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=150)
    body = EncryptedTextField()  # encrypted at rest: customers write names, phones, addresses
    message_id = models.CharField(max_length=300, null=True, blank=True, unique=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    # The channel a reply went by ("email", "sms") or why it failed, never an address: the address
    # is kept encrypted apart, shown masked, and in plaintext only through an audited reveal.
    delivery_detail = models.CharField(max_length=300, blank=True)
    delivery_address = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Attachment(models.Model):
    """A file on a message; kept in the database so a ticket and its files commit together."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = EncryptedBinaryField()  # encrypted at rest (ID card photos, invoices)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.file_name


PERSONAL_EVENT_KEYS = ("subject",)  # the keys of a ticket event's data that hold the customer's words


class TicketEvent(models.Model):
    """Append-only history of a ticket: created, status, assignment, priority, merge, SLA…"""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    # a change of subject keeps the old and new subject (customers write names, phones, emails in
    # them): sealed with the customer's key, unreadable once they are erased; the rest stays plain
    data = SubjectSealedJSONField(default=dict, blank=True, subject="sealing_subject", sealed_keys=PERSONAL_EVENT_KEYS)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_ticket_idx")]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket history")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"

    @property
    def sealing_subject(self) -> int:
        """The customer whose key seals this event's personal values: the ticket's."""
        return self.ticket.customer_id


class CannedReply(models.Model):
    """A prepared answer with variables such as {customer_name} and {ticket_number}."""

    title = models.CharField(_("title"), max_length=100, unique=True)
    body = models.TextField(_("body"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class InboundMail(models.Model):
    """Every mail the listener accepted for processing, kept raw: a ticket, or why it was refused."""

    class Outcome(models.TextChoices):
        TICKET = "ticket", _("New ticket")
        REPLY = "reply", _("Reply on a ticket")
        REJECTED = "rejected", _("Rejected")

    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    # encrypted at rest: the raw mail, its sender's address and its subject are the customer's words
    sender = EncryptedTextField(blank=True)
    subject = EncryptedTextField(blank=True)
    size = models.PositiveIntegerField()
    raw = EncryptedBinaryField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail")

    def __str__(self) -> str:
        return f"{self.sender} {self.outcome}"


# Knowledge base --------------------------------------------------------------------------------


class Language(models.TextChoices):
    ZH = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class ArticleCategory(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("article category")
        verbose_name_plural = _("article categories")

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """A knowledge-base article (知识库文章) in one language; only published ones are searched."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    keywords = models.CharField(_("keywords"), max_length=300, blank=True, help_text=_("other words people use"))
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    category = models.ForeignKey(ArticleCategory, on_delete=models.PROTECT, related_name="articles")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__position", "title"]
        indexes = [models.Index(fields=["state", "language"], name="article_state_language_idx")]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.title


class ArticleQuestion(models.Model):
    """A way customers ask for an article (相似问法): the bot's matching learns from these."""

    class Source(models.TextChoices):
        SEED = "seed", _("Starting content")
        STAFF = "staff", _("Added by staff")
        CHAT = "chat", _("From a chat question")
        TICKET = "ticket", _("From a handed-over ticket")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("question"), max_length=200)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article", "id"]
        constraints = [models.UniqueConstraint(fields=["article", "text"], name="article_question_unique")]
        verbose_name = _("question variant")
        verbose_name_plural = _("question variants")

    def __str__(self) -> str:
        return self.text


class BotConversation(models.Model):
    """A chat with the self-service bot: its transcript and, after hand-over, the ticket."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    transcript = models.JSONField(default=list, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")

    def __str__(self) -> str:
        return str(self.token)


class BotQuestion(models.Model):
    """One question asked of the bot and what became of it: what the review page and the
    customers' thumbs work on (a transcript is a conversation's record, this is the question's)."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        HANDED_OVER = "handed_over", _("Offered a person")
        SMALLTALK = "smalltalk", _("Small talk")
        ORDERS = "orders", _("Answered from the member's orders")

    class Vote(models.TextChoices):
        UP = "up", _("Helped")
        DOWN = "down", _("Did not help")

    conversation = models.ForeignKey(BotConversation, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(max_length=500)
    language = models.CharField(max_length=10, choices=Language.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.CharField(max_length=20, blank=True)
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confidence = models.FloatField(default=0.0)
    vote = models.CharField(max_length=4, choices=Vote.choices, blank=True)
    voted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("when staff dealt with it on the review page")
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["reviewed_at", "outcome"], name="botquestion_review_idx"),
            models.Index(fields=["reviewed_at", "vote"], name="botquestion_vote_idx"),
        ]
        verbose_name = _("bot question")
        verbose_name_plural = _("bot questions")

    def __str__(self) -> str:
        return self.text


class Survey(models.Model):
    """The one-question satisfaction survey (满意度) sent after a ticket is resolved."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10)
    sent_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.CharField(max_length=1000, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="survey_score_1_to_5"
            )
        ]
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score}"
