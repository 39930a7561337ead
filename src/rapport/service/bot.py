"""The self-service bot on the member portal: it answers from published articles and names the
article it used; it hands over to a human — a ticket carrying the transcript — when its
confidence is below the threshold or the customer asks for a person.

Confidence is the share of the question's IDF weight that the best article contains
(:attr:`rapport.service.search.Hit.coverage`), so a question about something the knowledge base
does not cover scores low however the ranking falls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.service import clock, services
from rapport.service.models import Article, BotConversation, Category, MessageKind, Ticket, TicketChannel
from rapport.service.search import language_of, search_articles

MAX_QUESTION = 500
ASK_FOR_HUMAN = re.compile(
    r"(人工|真人|转人工|客服人员|找客服|联系客服|投诉|\bhuman\b|\bagent\b|real person|\boperator\b"
    r"|talk to (?:someone|a person)|speak to (?:someone|a person)|\brepresentative\b)",
    re.IGNORECASE,
)
COMPLAINT = re.compile(r"(投诉|complain)", re.IGNORECASE)
SMALLTALK = "smalltalk"  # the reason of a short reply to a greeting, thanks or chit-chat
BOT_ACTOR = Actor(user=None, source=Source.CUSTOMER, label="chat")


@dataclass(frozen=True)
class Answer:
    """What the bot says: an article's answer with its source, or that a person will take over."""

    text: str
    article: Article | None
    confidence: float
    handed_over: bool
    reason: str = ""


def answer(question: str, *, threshold: float | None = None) -> Answer:
    """The bot's answer to one question, without any side effect (the labelled-set evaluation uses this)."""
    threshold = settings.RAPPORT_SERVICE_BOT_THRESHOLD if threshold is None else threshold
    if ASK_FOR_HUMAN.search(question):
        return Answer("", None, 0.0, True, "asked")
    language = language_of(question)
    found = search_articles(question, limit=1, language=language) or search_articles(question, limit=1)
    if not found:
        return Answer("", None, 0.0, True, "no_match")
    article, hit = found[0]
    if hit.coverage < threshold:
        return Answer("", article, hit.coverage, True, "low_confidence")
    return Answer(_summary(article), article, hit.coverage, False)


def _summary(article: Article) -> str:
    """The article's first paragraph, short enough for a chat bubble."""
    first = article.body.strip().split("\n\n")[0].strip()
    return first if len(first) <= 600 else first[:597] + "…"


def _clean_question(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput.single("question", "required", "type a question")
    if len(text) > MAX_QUESTION:
        raise InvalidInput.single("question", "too_long", f"at most {MAX_QUESTION} characters")
    return text.strip()


def start(customer: Customer) -> BotConversation:
    return BotConversation.objects.create(customer=customer, created_at=clock.now())


@transaction.atomic
def ask(conversation: BotConversation, question: object) -> Answer:
    """Answer in a conversation, appending both turns to its transcript; hands over when unsure."""
    text = _clean_question(question)
    conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.ticket_id is not None:
        raise Conflict.single("conversation", "handed_over", "an agent has this conversation now")
    result = answer(text)
    now = clock.now().isoformat()
    conversation.transcript.append({"role": "customer", "text": text, "at": now})
    if result.handed_over:
        conversation.transcript.append(
            {"role": "bot", "text": _("Let me pass you to a person."), "at": now, "reason": result.reason}
        )
        conversation.save(update_fields=["transcript"])
        hand_over(conversation)
    else:
        assert result.article is not None
        conversation.transcript.append(
            {
                "role": "bot",
                "text": result.text,
                "article": result.article.pk,
                "title": result.article.title,
                "confidence": result.confidence,
                "at": now,
            }
        )
        conversation.save(update_fields=["transcript"])
    return result


@transaction.atomic
def hand_over(conversation: BotConversation) -> Ticket:
    """Open a ticket for a person with the whole transcript; the same conversation never opens two."""
    conversation = (
        BotConversation.objects.select_for_update(of=("self",)).select_related("customer").get(pk=conversation.pk)
    )
    if conversation.ticket_id is not None:
        return Ticket.objects.get(pk=conversation.ticket_id)
    questions = [turn["text"] for turn in conversation.transcript if turn["role"] == "customer"]
    subject = (questions[-1] if questions else _("Chat with the assistant"))[:120]
    lines = []
    for turn in conversation.transcript:
        who = _("Customer") if turn["role"] == "customer" else _("Assistant")
        source = f" [{turn['title']}]" if turn.get("title") else ""
        lines.append(f"{who}: {turn['text']}{source}")
    transcript = "\n".join(lines) or _("The customer asked for a person.")
    ticket = services.open_ticket(
        customer=conversation.customer,
        channel=TicketChannel.CHAT,
        subject=subject,
        body=transcript,
        category=Category.COMPLAINT if any(COMPLAINT.search(q) for q in questions) else Category.INQUIRY,
        actor=BOT_ACTOR,
    )
    first = ticket.messages.get()  # type: ignore[attr-defined]
    first.kind = MessageKind.BOT
    first.save(update_fields=["kind"])
    conversation.ticket = ticket
    conversation.save(update_fields=["ticket"])
    return ticket
