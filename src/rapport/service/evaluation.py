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

from rapport.service import bot
from rapport.service.search import language_of, search_articles
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


def evaluate(threshold: float | None = None, path: Path = QUESTIONS) -> BotScore:
    items = json.loads(path.read_text(encoding="utf-8"))
    answerable = [i for i in items if i["expect"]]
    top1 = answered = handed = out_handed = wrong = 0
    misses = []
    for item in items:
        question, expect = item["question"], item["expect"]
        result = bot.answer(question, threshold=threshold)
        handed += result.handed_over
        if expect is None:
            out_handed += result.handed_over
            if not result.handed_over:
                misses.append(f"answered out-of-scope: {question}")
            continue
        best = search_articles(question, limit=1, language=language_of(question))
        if best and topic_of_title(best[0][0].title) == expect:
            top1 += 1
        else:
            misses.append(f"top-1 {best[0][0].title if best else '-'} for {question} (want {expect})")
        if not result.handed_over:
            if result.article is not None and topic_of_title(result.article.title) == expect:
                answered += 1
            else:
                wrong += 1
    out_of_scope = len(items) - len(answerable)
    return BotScore(
        questions=len(items),
        answerable=len(answerable),
        top1_accuracy=round(top1 / len(answerable), 4),
        answered_accuracy=round(answered / len(answerable), 4),
        handover_rate=round(handed / len(items), 4),
        out_of_scope_handed_over=round(out_handed / out_of_scope, 4) if out_of_scope else 1.0,
        wrong_answers=wrong,
        misses=misses,
    )
