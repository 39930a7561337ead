"""Measuring the self-service bot on a labelled question set (``tests/data/bot_questions.json``):
each question names the article topic that answers it, or none when a person should take over.

Top-1 accuracy counts the answerable questions whose best article is the right topic (whatever
the confidence); answered accuracy counts those the bot actually answered correctly; the
hand-over rate is the share of all questions passed to a person.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from rapport.service import bot
from rapport.service.seed import topic_of_title

QUESTIONS = Path(__file__).parent / "tests" / "data" / "bot_questions.json"


@dataclass(frozen=True)
class BotScore:
    questions: int
    answerable: int
    top1_accuracy: float
    answered_accuracy: float
    handover_rate: float
    out_of_scope_handed_over: float
    wrong_answers: int
    misses: list[str]


@dataclass(frozen=True)
class Judged:
    question: str
    expect: str | None
    topic: str | None  # the best article's topic, whatever the confidence
    confidence: float
    always_hands_over: bool  # asked for a person, or nothing matched


def judge_all(path: Path = QUESTIONS) -> list[Judged]:
    """Ask the bot every question once, with no threshold; thresholds are applied afterwards."""
    judged = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        result = bot.answer(item["question"], threshold=0.0)
        topic = topic_of_title(result.article.title) if result.article is not None else None
        judged.append(
            Judged(item["question"], item["expect"], topic, result.confidence, result.reason in ("asked", "no_match"))
        )
    return judged


def evaluate(threshold: float | None = None, judged: list[Judged] | None = None) -> BotScore:
    threshold = settings.RAPPORT_SERVICE_BOT_THRESHOLD if threshold is None else threshold
    judged = judge_all() if judged is None else judged
    answerable = [j for j in judged if j.expect]
    out_of_scope = [j for j in judged if not j.expect]
    top1 = answered = handed = out_handed = wrong = 0
    misses = []
    for item in judged:
        hands_over = item.always_hands_over or item.confidence < threshold
        handed += hands_over
        if item.expect is None:
            out_handed += hands_over
            if not hands_over:
                misses.append(f"answered out-of-scope: {item.question}")
            continue
        if item.topic == item.expect:
            top1 += 1
        else:
            misses.append(f"top-1 {item.topic} for {item.question} (want {item.expect})")
        if not hands_over:
            if item.topic == item.expect:
                answered += 1
            else:
                wrong += 1
    return BotScore(
        questions=len(judged),
        answerable=len(answerable),
        top1_accuracy=round(top1 / len(answerable), 4),
        answered_accuracy=round(answered / len(answerable), 4),
        handover_rate=round(handed / len(judged), 4),
        out_of_scope_handed_over=round(out_handed / len(out_of_scope), 4) if out_of_scope else 1.0,
        wrong_answers=wrong,
        misses=misses,
    )
