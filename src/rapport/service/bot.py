"""The self-service bot on the member portal.

For each question it decides, in order:

1. the customer asks for a person (人工, complaint, human…) → a ticket for a person at once;
2. a greeting, thanks or chit-chat → a short reply, never a ticket;
3. a signed-in member asks about their own orders → the answer comes from their orders;
4. otherwise the knowledge base: the articles are ranked by BM25 and by the variant model
   (:class:`rapport.service.search.Engine`); the best one answers with the *passage* (the
   sentences) that answers the question, and a link to the whole article.

It does not answer when its confidence — a probability of being right, from a logistic
regression fitted on the labelled tuning questions (``bot_calibration.json``) — is under
``RAPPORT_SERVICE_BOT_THRESHOLD``; a key word of the question that no article has (Japan, 天气,
bitcoin) weighs heavily against it; and a question the out-of-scope gate (:mod:`.scope`) reads as
about something the knowledge base does not cover weighs against it too (and, when its own
threshold is set, hands the question over whatever the ranking says). It then *offers* a person,
saying when one will answer (from the SLA); the ticket is opened only when the customer accepts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.models import Customer
from rapport.service import clock, lexicon, orders_answer, scope, services, sla, smalltalk
from rapport.service.models import (
    Article,
    BotConversation,
    BotQuestion,
    Category,
    MessageKind,
    Priority,
    Ticket,
    TicketChannel,
)
from rapport.service.search import Candidate, Engine, language_of, published_engine, tokenize

MAX_QUESTION = 500
ASK_FOR_HUMAN = re.compile(
    r"(人工|真人|转人工|客服人员|找客服|联系客服|投诉|\bhuman\b|\bagent\b|real person|\boperator\b|\bmanager\b"
    r"|(?:talk|speak|chat) (?:to|with) (?:someone|somebody|a person|a real person|staff)|\brepresentative\b|complain"
    r"|\bsupervisor\b|(?:get|give) me (?:a|an actual|a real) (?:person|human)"
    r"|负责人|(?:找|叫|要见)(?:你们)?(?:的)?(?:经理|主管|领导|店长))",
    re.IGNORECASE,
)
ASKS_WHAT_THE_BOT_IS = re.compile(r"(你是|是不是|是真人|是机器|are you|is this|am i talking)", re.IGNORECASE)
COMPLAINT = re.compile(r"(投诉|complain)", re.IGNORECASE)
OUT_OF_SCOPE = "out_of_scope"  # the reason when the out-of-scope gate (``scope``) hands a question over
SMALLTALK = "smalltalk"  # the reason of a short reply to a greeting, thanks or chit-chat
BOT_ACTOR = Actor(user=None, source=Source.CUSTOMER, label="chat")
CALIBRATION_FILE = Path(__file__).with_name("bot_calibration.json")
PASSAGE_LIMIT = 400

# Small talk: the whole message is made of these (after punctuation is dropped), most specific first.
_SMALLTALK_KINDS = {
    "chitchat": r"(?:(?:write|tell|sing)(?: me)? an? (?:poem|joke|story|song)|讲个?笑话|写一?首诗|唱首歌|how are you"
    r"|你好吗|你几岁|今天过得怎么样|what'?s up)",
    "bot": r"(?:你是谁|你是机器人吗?|你是真人吗?|是机器人吗?|are you an? (?:bot|robot|human|real person)|who are you"
    r"|what are you)",
    "thanks": r"(?:谢谢(?:你|您|啦|了)?|多谢|感谢|谢啦|谢了|thanks?(?: you)?(?: so much| a lot| very much)?|thx|ty"
    r"|many thanks|cheers)",
    "bye": r"(?:再见|拜拜|bye|goodbye|see you|byebye)",
    "greeting": r"(?:你好|您好|在吗|在不在|有人吗|哈喽|嗨|喂|早上好|上午好|下午好|晚上好|早|hi|hello|hey|hiya|there"
    r"|good (?:morning|afternoon|evening))",
    "ack": r"(?:好的|好滴|好哒|好嘞|好|嗯+|哦+|ok|okay|没问题了?|没事了|没有了|that'?s all|again|知道了|明白了|收到"
    r"|got it|cool|great|nice|哈+|呵呵|haha+|lol|👍)",
}
_SMALLTALK_ANY = "|".join(_SMALLTALK_KINDS.values())
SMALLTALK_MESSAGE = re.compile(rf"(?:\s*(?:{_SMALLTALK_ANY})(?:啦|呀|啊|哈|呢|吧)?\s*)+")
_PUNCTUATION = re.compile(r"[\s,.!?;:~'\"，。！？；：、…～—\-()（）【】]+")
SMALLTALK_REPLIES = {
    "chitchat": gettext_lazy(
        "I can only help with shopping with us: orders, delivery, returns, membership and payment."
    ),
    "bot": gettext_lazy(
        "I am the shop's assistant. I answer from our help articles and pass you to a person when I cannot."
    ),
    "thanks": gettext_lazy("You're welcome! Anything else I can help with?"),
    "bye": gettext_lazy("Goodbye, and thank you for shopping with us."),
    "greeting": gettext_lazy("Hello! Ask me about orders, delivery, returns, points or your membership."),
    "ack": gettext_lazy("Anything else I can help with?"),
}


@dataclass(frozen=True)
class Answer:
    """What the bot says: an article's passage with its source, a small-talk reply, the member's
    orders, or that a person should take over (``handed_over``)."""

    text: str
    article: Article | None
    confidence: float
    handed_over: bool
    reason: str = ""


def smalltalk_kind(question: str) -> str | None:
    """The kind of small talk (greeting, thanks, bye, bot, chitchat, ack) the whole message is, if
    any: the common forms by pattern, any other short message by the small-talk classifier (an
    insult is answered like chit-chat) unless it names something of the shop's."""
    text = _PUNCTUATION.sub(" ", question.lower()).strip()
    if not text:
        return None
    if not SMALLTALK_MESSAGE.fullmatch(text):
        if ASK_FOR_HUMAN.search(question) and not ASKS_WHAT_THE_BOT_IS.search(question):
            return None  # "talk to a human please" is a request for a person, never small talk
        if names_a_shop_subject(question):
            return None  # "i got someone elses order", "are you hiring": a question, however short
        kind = smalltalk.classify(question)
        return "chitchat" if kind == "insult" else kind
    for kind, pattern in _SMALLTALK_KINDS.items():
        if re.search(pattern, text):
            return kind
    return "ack"


def names_a_shop_subject(question: str) -> bool:
    """Whether the message names something of the shop's the lexicon knows (订单, 发错, 刻字,
    hiring …): such a message is a question for the knowledge base or a person, not small talk,
    whatever the small-talk classifier reads in its tone. Only the classifier's verdict is vetoed
    (the fixed patterns know their words); of the 884 small-talk messages in the labelled sets and
    the classifier's training data, 6 name one ("hi anyone home", "have a great weekend")."""
    return any(token in lexicon.SYNONYMS for token in tokenize(question))


def _in_language(language: str, message: Any) -> str:
    with translation.override("zh-hans" if language == "zh-hans" else "en"):
        return str(message)


# Calibration -----------------------------------------------------------------------------------

FEATURES = (
    "coverage",
    "similarity",
    "margin",
    "unknown_share",
    "agreement",
    "bm25_per_weight",
    "similarity_margin",
    "coverage_margin",
    "subject_lacking",
    "log_tokens",
    "has_unknown",
    "spelling",
    "spelling_first",
    "missing_peak",
    "out_of_scope",
    "asked",
    "asked_margin",
)


def feature_vector(
    ranked: list[Candidate], tokens: list[str], unknown: list[str], engine: Engine, out_of_scope: float
) -> list[float]:
    """What the calibrated confidence rests on — none of it names a word or a phrasing, so the
    model cannot memorise the questions it was fitted on: how much of the question's weight the
    best article holds and by how much more than the runner-up; how close the question is to one
    of its variants, and by how much more; how far ahead it is in the combined ranking; the share
    of the question's weight in words no article has; BM25 per unit of question weight; whether
    the article lacks a topic word the question names; the question's length; whether the
    spelling model (character n-grams, no dictionary) finds the same article closest; and the
    heaviest word of the question that other articles have but the best one lacks (储值卡 in a
    question about transferring a card, 包邮 in one about free delivery): the key content a
    neighbouring article would be answered without; the out-of-scope gate's probability that
    the question is about something the knowledge base does not cover (:mod:`.scope`); and the
    question model's probability for the best article and its lead over the others'."""
    best = ranked[0]
    others = ranked[1:]
    weights, total = engine.index.weights(tokens)
    total = total or 1.0
    named = [t for t in dict.fromkeys(tokens) if t in engine.subjects]
    postings = engine.index.postings
    lacking = sum(best.article_id not in postings.get(t, {}) for t in named) / len(named) if named else 0.0
    missing = [weights.get(t, 0.0) for t in set(tokens) if t in postings and best.article_id not in postings[t]]
    agreement = float(best.coverage >= max(c.coverage for c in ranked)) + float(
        best.similarity >= max(c.similarity for c in ranked)
    )
    return [
        best.coverage,
        best.similarity,
        best.score - (others[0].score if others else 0.0),
        sum(weights.get(t, 0.0) for t in unknown) / total,
        agreement,
        min(best.bm25 / total, 3.0),
        best.similarity - max((c.similarity for c in others), default=0.0),
        best.coverage - max((c.coverage for c in others), default=0.0),
        lacking,
        math.log1p(len(set(tokens))),
        float(bool(unknown)),
        best.spelling,
        float(best.spelling_first),
        max(missing, default=0.0) / total,
        out_of_scope,
        best.asked,
        best.asked - max((c.asked for c in others), default=0.0),
    ]


@dataclass(frozen=True)
class Calibration:
    """The answerability model: a logistic regression on standardised features (scikit-learn,
    fitted on the labelled tuning questions), stored as plain numbers so answering needs neither a
    pickle nor a refit."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        if data.get("features") != list(FEATURES):
            raise ValueError("bot_calibration.json was fitted on other features: refit it (--calibrate)")
        return cls(
            tuple(float(x) for x in data["mean"]),
            tuple(float(x) for x in data["scale"]),
            tuple(float(x) for x in data["coefficients"]),
            float(data["intercept"]),
        )

    def log_odds(self, vector: list[float]) -> float:
        return self.intercept + sum(
            c * (x - m) / s for c, x, m, s in zip(self.coefficients, vector, self.mean, self.scale, strict=True)
        )


_calibration: Calibration | None = None


def calibrated(vector: list[float]) -> float:
    """The probability that the best article answers the question."""
    global _calibration
    if _calibration is None:
        _calibration = Calibration.from_json(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")))
    return round(1 / (1 + math.exp(-_calibration.log_odds(vector))), 4)


def set_calibration(data: dict[str, Any]) -> None:
    """Use this model from now on (the calibration command writes it to the file too)."""
    global _calibration
    _calibration = Calibration.from_json(data)


# Passage ---------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.;；])\s+")


def sentences(body: str) -> list[str]:
    found: list[str] = []
    for paragraph in body.split("\n"):
        found.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s and s.strip())
    return found


def passage(body: str, question_tokens: list[str], weights: dict[str, float]) -> str:
    """The sentences of an article that answer the question: the one sharing the most question
    weight, with any other nearly as good, in the article's order; the first when none shares any."""
    parts = sentences(body)
    if not parts:
        return ""
    wanted = set(question_tokens)
    scores = [sum(weights.get(t, 0.0) for t in wanted & set(tokenize(part))) for part in parts]
    best = max(scores)
    if best <= 0:
        chosen = [0]
    else:
        first = scores.index(best)
        chosen = sorted({first} | {i for i, s in enumerate(scores) if s >= 0.8 * best and abs(i - first) <= 2})[:2]
    text = " ".join(parts[i] for i in chosen) if not _is_chinese(parts[0]) else "".join(parts[i] for i in chosen)
    return text if len(text) <= PASSAGE_LIMIT else text[: PASSAGE_LIMIT - 1] + "…"


def _is_chinese(text: str) -> bool:
    return language_of(text) == "zh-hans"


# Answering -------------------------------------------------------------------------------------


def answer(
    question: str, *, threshold: float | None = None, member: Customer | None = None, engine: Engine | None = None
) -> Answer:
    """The bot's answer to one question, without any side effect (the labelled-set evaluation uses this)."""
    threshold = settings.RAPPORT_SERVICE_BOT_THRESHOLD if threshold is None else threshold
    language = language_of(question)
    kind = smalltalk_kind(question)
    if kind is not None:
        return Answer(_in_language(language, SMALLTALK_REPLIES[kind]), None, 1.0, False, SMALLTALK)
    if ASK_FOR_HUMAN.search(question):
        return Answer("", None, 0.0, True, "asked")
    if member is not None and orders_answer.asks_about_orders(question):
        described = orders_answer.describe(member, language)
        if described:
            return Answer(described, None, 1.0, False, "orders")
    engine = engine or published_engine()
    ranked, tokens, unknown = assess(question, engine)
    if not ranked:
        return Answer("", None, 0.0, True, "no_match")
    confidence = calibrated(feature_vector(ranked, tokens, unknown, engine, scope.model().probability(question)))
    article = Article.objects.select_related("category").get(pk=ranked[0].article_id)
    if uncovered_subjects(unknown):
        return Answer("", article, confidence, True, "uncovered")
    if scope.out_of_scope(question):
        return Answer("", article, confidence, True, OUT_OF_SCOPE)
    if confidence < threshold:
        return Answer("", article, confidence, True, "uncovered" if unknown else "low_confidence")
    return Answer(_passage(engine, article, tokens), article, confidence, False)


def uncovered_subjects(unknown: list[str]) -> list[str]:
    """The retail subjects the lexicon knows that no article covers (货到付款, 运费险, 包邮, gift
    card, trade-in …) among the question's unknown words: a question about one is handed over
    whatever the ranking says — the nearest article would answer a neighbouring question (student
    discounts, wholesale and engraving were added in the eighth round). On the nine
    seen sets this catches 151 questions for a person and no answerable one."""
    return [token for token in unknown if token in lexicon.SYNONYMS]


def assess(question: str, engine: Engine) -> tuple[list[Candidate], list[str], list[str]]:
    """The five best articles (in the question's language, else any), the question's tokens and
    its words no article has."""
    language = language_of(question)
    ranked = engine.rank(question, limit=5, language=language) or engine.rank(question, limit=5)
    tokens = tokenize(question)
    return ranked, tokens, engine.unknown(tokens, question)


def _passage(engine: Engine, article: Article, tokens: list[str]) -> str:
    weights, _total = engine.index.weights(tokens)
    return passage(article.body, tokens, weights)


def _clean_question(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput.single("question", "required", "type a question")
    if len(text) > MAX_QUESTION:
        raise InvalidInput.single("question", "too_long", f"at most {MAX_QUESTION} characters")
    return text.strip()


def start(customer: Customer) -> BotConversation:
    return BotConversation.objects.create(customer=customer, created_at=clock.now())


def expected_reply_by(now: dt.datetime | None = None) -> dt.datetime:
    """When a person answers a chat handed over now: the first-response target of a normal ticket."""
    first, _resolution, _warn = sla.targets(Priority.NORMAL)
    return sla.add_business_minutes(now or clock.now(), first, sla.hours_for(None))


def format_moment(moment: dt.datetime) -> str:
    """A moment in the shop's time zone, as the member reads it."""
    local = moment.astimezone(zoneinfo.ZoneInfo(settings.RAPPORT_SERVICE_TIME_ZONE))
    return local.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Reply:
    """An answer in a conversation: the answer, the logged question, and what the bot said."""

    answer: Answer
    question: BotQuestion
    text: str
    offer_handover: bool


def _outcome(result: Answer) -> str:
    if result.reason == SMALLTALK:
        return BotQuestion.Outcome.SMALLTALK
    if result.reason == "orders":
        return BotQuestion.Outcome.ORDERS
    return BotQuestion.Outcome.HANDED_OVER if result.handed_over else BotQuestion.Outcome.ANSWERED


@transaction.atomic
def ask(conversation: BotConversation, question: object) -> Reply:
    """Answer in a conversation, appending both turns to its transcript and logging the question.

    An explicit request for a person opens the ticket at once; any other question the bot cannot
    answer gets an *offer* of a person — :func:`hand_over` opens the ticket when the customer accepts.
    """
    text = _clean_question(question)
    conversation = (
        BotConversation.objects.select_for_update(of=("self",)).select_related("customer").get(pk=conversation.pk)
    )
    if conversation.ticket_id is not None:
        raise Conflict.single("conversation", "handed_over", "an agent has this conversation now")
    result = answer(text, member=conversation.customer)
    now = clock.now()
    language = language_of(text)
    logged = BotQuestion.objects.create(
        conversation=conversation,
        text=text,
        language=language,
        outcome=_outcome(result),
        reason=result.reason,
        article=result.article,
        confidence=result.confidence,
        created_at=now,
    )
    conversation.transcript.append({"role": "customer", "text": text, "at": now.isoformat()})
    turn: dict[str, Any] = {"role": "bot", "at": now.isoformat(), "question": logged.pk}
    offer = result.handed_over and result.reason != "asked"
    if result.handed_over and not offer:
        said = _in_language(language, gettext_lazy("Let me pass you to a person."))
        turn.update(text=said, reason=result.reason)
    elif result.handed_over:
        said = _in_language(
            language,
            gettext_lazy(
                "I am not sure I can answer that well. Shall I pass it to a person? They will reply by %(time)s."
            ),
        ) % {"time": format_moment(expected_reply_by(now))}
        turn.update(text=said, reason=result.reason)
    else:
        said = result.text
        turn.update(text=said, confidence=result.confidence, reason=result.reason)
        if result.article is not None:
            turn.update(article=result.article.pk, title=result.article.title)
    conversation.transcript.append(turn)
    conversation.save(update_fields=["transcript"])
    if result.handed_over and not offer:
        hand_over(conversation)
    return Reply(result, logged, said, offer)


@transaction.atomic
def vote(conversation: BotConversation, question_id: object, value: object) -> BotQuestion:
    """The customer's 👍/👎 on one of the bot's answers in their conversation (the last vote counts)."""
    if value not in BotQuestion.Vote.values:
        raise InvalidInput.single("vote", "invalid", "up or down")
    if isinstance(question_id, bool) or not isinstance(question_id, int):
        raise InvalidInput.single("question", "invalid", "the id of a question in this conversation")
    logged = BotQuestion.objects.select_for_update().filter(pk=question_id, conversation=conversation).first()
    if logged is None:
        raise InvalidInput.single("question", "not_found", "no such question in this conversation")
    logged.vote, logged.voted_at = str(value), clock.now()
    if value == BotQuestion.Vote.DOWN:
        logged.reviewed_at = None  # a down-vote puts it (back) on the review page
    logged.save(update_fields=["vote", "voted_at", "reviewed_at"])
    return logged


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
    first = ticket.messages.get()
    first.kind = MessageKind.BOT
    first.save(update_fields=["kind"])
    conversation.ticket = ticket
    conversation.save(update_fields=["ticket"])
    return ticket
