"""Whether a question is about something the knowledge base covers at all: the out-of-scope gate.

The answerability model (``bot.calibrated``) judges the best article's evidence; a question whose
words all belong to the knowledge base but that asks about something no article says (cash back
on a stored-value card, a job opening, another shop's order) can still look well answered. This
gate reads the question itself: a logistic regression over hashed character n-grams and the
bot's segmented, synonym-folded tokens, fitted (``evaluation.fit_scope``) on the tuning sets'
questions for a person against their answerable ones, the articles' question variants, and
synthetic out-of-domain questions (``tests/data/bot_out_of_domain_synthetic.json``). Its
threshold is chosen by leave-one-writer-out cross-validation so that it costs as few right
answers as possible. Stored as plain numbers (``bot_scope.json``): no pickle, no refit to answer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import HashingVectorizer

from rapport.service.search import grams_and_tokens

SCOPE_FILE = Path(__file__).with_name("bot_scope.json")
HASHED_FEATURES = 2**18
VECTORIZER = HashingVectorizer(
    analyzer=grams_and_tokens, n_features=HASHED_FEATURES, alternate_sign=False, norm="l2", lowercase=False
)


@dataclass(frozen=True)
class ScopeModel:
    weights: dict[int, float]
    intercept: float
    gate: float  # hand over at or above this probability of being out of scope

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScopeModel:
        if data.get("hashed_features") != HASHED_FEATURES:
            raise ValueError("bot_scope.json was fitted on other features: refit it (--calibrate)")
        return cls(
            {int(k): float(v) for k, v in data["weights"].items()}, float(data["intercept"]), float(data["gate"])
        )

    def probability(self, question: str) -> float:
        row = VECTORIZER.transform([question])
        logit = self.intercept + sum(
            self.weights.get(int(i), 0.0) * float(v) for i, v in zip(row.indices, row.data, strict=True)
        )
        return 1 / (1 + math.exp(-logit))


_model: ScopeModel | None = None


def model() -> ScopeModel:
    global _model
    if _model is None:
        _model = ScopeModel.from_json(json.loads(SCOPE_FILE.read_text(encoding="utf-8")))
    return _model


def set_model(data: dict[str, Any]) -> None:
    """Use this model from now on (the calibration command writes it to the file too)."""
    global _model
    _model = ScopeModel.from_json(data)


def out_of_scope(question: str) -> bool:
    """Whether the gate hands this question over, whatever article ranks first."""
    current = model()
    return current.probability(question) >= current.gate
