"""The loop that improves the bot: the questions it could not answer and the answers customers
voted down, grouped so staff see each problem once, and the actions that teach the bot — a
question becomes a variant of an article, or the start of a new (draft) article, possibly written
from the agent's reply to the handed-over ticket."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.service import clock, kb
from rapport.service.models import Article, ArticleQuestion, BotQuestion, MessageKind, TicketMessage

REVIEW_LIMIT = 1000  # the newest unreviewed questions the page groups
_NOISE = re.compile(r"[\s,.!?;:~'\"，。！？；：、…～()（）]+")


def normalized(text: str) -> str:
    """The form two askings of the same question share (case, spaces and punctuation dropped)."""
    return _NOISE.sub(" ", text.lower()).strip()


@dataclass
class QuestionGroup:
    """One question as customers asked it, however many times."""

    text: str
    ids: list[int] = field(default_factory=list)
    handed_over: int = 0
    down_votes: int = 0
    language: str = ""
    last_asked: Any = None
    agent_reply: str = ""


@dataclass
class ArticleGroup:
    """The questions whose best guess was the same article (or none)."""

    article: Article | None
    questions: list[QuestionGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(q.ids) for q in self.questions)


def pending() -> Any:
    """Questions staff have not dealt with: offered a person or answered and voted down."""
    return BotQuestion.objects.filter(reviewed_at__isnull=True).filter(
        Q(outcome=BotQuestion.Outcome.HANDED_OVER) | Q(vote=BotQuestion.Vote.DOWN)
    )


def _agent_replies(ticket_ids: Iterable[int]) -> dict[int, str]:
    replies: dict[int, str] = {}
    messages = TicketMessage.objects.filter(ticket_id__in=set(ticket_ids), kind=MessageKind.AGENT).order_by(
        "created_at", "id"
    )
    for ticket_id, body in messages.values_list("ticket_id", "body"):
        replies.setdefault(ticket_id, body)  # the first reply answers the question
    return replies


def review_groups() -> list[ArticleGroup]:
    """Pending questions grouped by the article the bot thought of, then by their wording; the
    biggest groups first."""
    rows = list(pending().select_related("article", "conversation").order_by("-created_at", "-id")[:REVIEW_LIMIT])
    replies = _agent_replies(r.conversation.ticket_id for r in rows if r.conversation.ticket_id)
    by_article: dict[int | None, ArticleGroup] = {}
    by_text: dict[tuple[int | None, str], QuestionGroup] = {}
    for row in rows:
        group = by_article.setdefault(row.article_id, ArticleGroup(row.article))
        key = (row.article_id, normalized(row.text))
        question = by_text.get(key)
        if question is None:
            question = by_text[key] = QuestionGroup(row.text, language=row.language, last_asked=row.created_at)
            group.questions.append(question)
        question.ids.append(row.pk)
        question.handed_over += row.outcome == BotQuestion.Outcome.HANDED_OVER
        question.down_votes += row.vote == BotQuestion.Vote.DOWN
        if not question.agent_reply and row.conversation.ticket_id in replies:
            question.agent_reply = replies[row.conversation.ticket_id]
    groups = list(by_article.values())
    for group in groups:
        group.questions.sort(key=lambda q: -len(q.ids))
    groups.sort(key=lambda g: -g.count)
    return groups


def _same_question(question: BotQuestion) -> Any:
    """The pending askings of this question in the same wording (reviewed together)."""
    text = normalized(question.text)
    return [q.pk for q in pending().only("pk", "text") if normalized(q.text) == text]


def _question(question_id: Any) -> BotQuestion:
    try:
        pk = int(question_id)
    except (TypeError, ValueError):
        raise InvalidInput.single("question", "invalid", "the id of an asked question") from None
    found = BotQuestion.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidInput.single("question", "not_found", f"no asked question #{pk}")
    return found


def _article(article_id: Any) -> Article:
    try:
        pk = int(article_id)
    except (TypeError, ValueError):
        raise InvalidInput.single("article", "required", "choose the article this question is about") from None
    found = Article.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidInput.single("article", "not_found", f"no article #{pk}")
    return found


def _mark_reviewed(ids: list[int]) -> int:
    return BotQuestion.objects.filter(pk__in=ids).update(reviewed_at=clock.now())


@transaction.atomic
def add_as_variant(
    question_id: Any, article_id: Any, *, actor: Actor, source: str = ArticleQuestion.Source.CHAT
) -> int:
    """Teach the bot that this question is about this article; returns how many askings it settles."""
    question = _question(question_id)
    article = _article(article_id)
    kb.add_question(article, text=question.text[:200], source=source, actor=actor)
    return _mark_reviewed(_same_question(question))


@transaction.atomic
def draft_article(question_id: Any, data: Mapping[str, Any], *, actor: Actor) -> Article:
    """A new draft article for a question no article covers, with the question as its first
    variant (staff publish it when it is ready)."""
    question = _question(question_id)
    fields = {k: data.get(k) for k in ("title", "body", "keywords", "category")}
    if isinstance(fields["category"], str) and fields["category"].strip().isdigit():
        fields["category"] = int(fields["category"])  # a form's category is its id
    fields["language"] = data.get("language") or question.language
    fields["state"] = Article.State.DRAFT
    article = kb.save_article(data=fields, actor=actor)
    source = ArticleQuestion.Source.TICKET if data.get("from_reply") else ArticleQuestion.Source.CHAT
    kb.add_question(article, text=question.text[:200], source=source, actor=actor)
    _mark_reviewed(_same_question(question))
    return article


@transaction.atomic
def dismiss(question_id: Any) -> int:
    """Nothing to learn from this question (spam, a one-off): off the review page."""
    return _mark_reviewed(_same_question(_question(question_id)))
