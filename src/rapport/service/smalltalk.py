"""Small talk: greetings, thanks, goodbyes, laughter, "ok", "are you a robot", chit-chat and
insults get a short reply and never a ticket.

A fixed pattern list (``bot._SMALLTALK_KINDS``) catches the common forms exactly; everything else
short goes to a classifier over character 1–3-grams (scikit-learn, fitted once per process in a
well under a second from ``bot_smalltalk.json``: synthetic examples per kind and the tuning sets'
small talk), so "早安", "thx that helped a lot" or "hi, anyone there?" are recognised without
listing every spelling. Its negatives are the articles' titles and question variants, short shop
words (退货, refund, 发票) and the tuning sets' short questions — messages that must reach the
knowledge base.
It only judges short messages: a long message with a greeting in it is a question.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

# The training examples: synthetic ones per kind and the tuning sets' small talk (see its "about").
TRAINING_FILE = Path(__file__).with_name("bot_smalltalk.json")
SHORT_CHARACTERS = 16  # a longer message is a question, even with a greeting in it
SHORT_WORDS = 8
CONFIDENT = 0.75  # the classifier's probability for a small-talk kind before the bot replies in kind
# Requests to chat ("tell me a joke about cats", "给我讲个睡前故事") are labelled small talk by some
# writers and out of scope by others; the classifier alone replies to them only when very sure.
CONFIDENT_CHITCHAT = 0.9
_PUNCTUATION = re.compile(r"[\s,.!?;:~'\"，。！？；：、…～—\-()（）【】]+")
_lock = threading.Lock()
_model: Any = None


def normalised(text: str) -> str:
    return _PUNCTUATION.sub(" ", text.lower()).strip()


def is_short(text: str) -> bool:
    """At most ``SHORT_CHARACTERS`` non-Latin characters and ``SHORT_WORDS`` words."""
    wide = sum(not ch.isascii() for ch in text if not ch.isspace())
    return wide <= SHORT_CHARACTERS and len(text.split()) <= SHORT_WORDS


def training_data() -> dict[str, Any]:
    return dict(json.loads(TRAINING_FILE.read_text(encoding="utf-8")))


def training_set(data: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """Messages and their kinds ("none" for a question): the file's synthetic and tuning-set
    examples, and the articles' titles and question variants as questions."""
    from rapport.service.seed import QUESTION_VARIANTS, TOPICS

    data = training_data() if data is None else data
    texts: list[str] = []
    labels: list[str] = []
    for section in ("synthetic", "tuning_sets"):
        for kind, examples in data[section].items():
            texts.extend(normalised(e) for e in examples)
            labels.extend([kind] * len(examples))
    shop = [*data["synthetic_not_smalltalk"], *data["tuning_sets_not_smalltalk"]]
    for zh, en in QUESTION_VARIANTS.values():
        shop.extend((*zh, *en))
    for topic in TOPICS:
        shop.extend((topic.zh[0], topic.en[0]))
    texts.extend(normalised(s) for s in shop)
    labels.extend(["none"] * len(shop))
    return texts, labels


def fitted(texts: list[str], labels: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
        # about 8 s CPU once per process on ~2,000 examples (one-vs-rest liblinear is 1.5 s but recalls less)
        LogisticRegression(C=10.0, solver="saga", max_iter=3000, class_weight="balanced", random_state=0),
    )
    return model.fit(texts, labels)


def _classifier() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = fitted(*training_set())
    return _model


def classify(question: str, model: Any = None) -> str | None:
    """The small-talk kind of a short message by the classifier, or None (a question, or unsure)."""
    text = normalised(question)
    if not text or not is_short(text):
        return None
    model = model or _classifier()
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    kind = str(model.classes_[best])
    needed = CONFIDENT_CHITCHAT if kind in ("chitchat", "insult") else CONFIDENT
    return kind if kind != "none" and probabilities[best] >= needed else None
