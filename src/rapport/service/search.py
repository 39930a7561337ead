"""Knowledge-base search and the bot's matching: tokens for Chinese (jieba's search mode with the
retail dictionary of :mod:`rapport.service.lexicon`) and English (lower-cased words, light
stemming), folded onto concepts shared by both languages; Okapi BM25 over title, keywords,
question variants and body; and the variant model (a TF-IDF space fitted on the articles'
question variants) that :class:`Engine` combines with BM25 to rank articles for the bot.

The engine is built in memory from the published articles and their variants and cached per
process; it is rebuilt when they change (counts and latest ``updated_at`` / variant id form the
cache key), and a rebuild segments only the articles that changed.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Count, Max
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from rapport.service import lexicon
from rapport.service.models import Article, ArticleQuestion

logger = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
TITLE_WEIGHT = 3  # a title or keyword token counts as this many body tokens
QUESTION_WEIGHT = 2  # so does a token of one of the article's question variants
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
HAN = re.compile(r"[\u3400-\u9fff]")
HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
QUANTITY = re.compile(r"[0-9一二两三四五六七八九十几半多]+[天日号个件次周月年岁块元码]?[内后前了]?")
EN_STOP = lexicon.EN_STOP
ZH_STOP = lexicon.ZH_STOP

_dictionary_lock = threading.Lock()
_dictionary_loaded = False


def _load_dictionary() -> None:
    """Teach jieba the retail words (once per process): 储值卡, 花呗, 快递单号 … stay whole."""
    global _dictionary_loaded
    if _dictionary_loaded:
        return
    import jieba

    with _dictionary_lock:
        if _dictionary_loaded:
            return
        words = set(lexicon.USER_WORDS)
        words.update(form for forms in lexicon.SYNONYMS.values() for form in forms if len(HAN.findall(form)) >= 2)
        for word in sorted(words):
            if HAN.fullmatch(word[0]) and len(word) >= 2:
                jieba.add_word(word)
        _dictionary_loaded = True


def _stem(word: str) -> str:
    """A light English stemmer: plurals and common verb endings, enough for support questions."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _english(piece: str, tokens: list[str]) -> None:
    for word in WORD.findall(piece):
        if word not in EN_STOP and "'" in word:
            word = word.split("'")[0]  # there's, parcel's → there, parcel
        if word in EN_STOP:
            continue
        stem = _stem(word)
        if word not in lexicon.WORD_CONCEPT and stem not in lexicon.WORD_CONCEPT:
            stem = _spelled(stem)
        tokens.append(lexicon.WORD_CONCEPT.get(word) or lexicon.concept(stem))


TYPO_MIN_LENGTH = 5  # shorter words have too many neighbours one letter away
_known_stems: dict[str, list[str]] | None = None


def _spelled(stem: str) -> str:
    """The known word a misspelt one stands for (adress → address, cancle → cancel, refnd → refund):
    one letter added, dropped, changed or two swapped, among the lexicon's English forms and the
    everyday words; the stem itself when it is known, short or has no such neighbour."""
    global _known_stems
    if _known_stems is None:
        words = [w for w in (*lexicon.WORD_CONCEPT, *lexicon.GENERIC) if w.isascii() and w.isalpha()]
        grouped: dict[str, list[str]] = defaultdict(list)
        for known in sorted({_stem(w) for w in words} | set(words)):
            grouped[known[0]].append(known)
        _known_stems = dict(grouped)
    candidates = _known_stems.get(stem[:1], [])
    if len(stem) < TYPO_MIN_LENGTH or stem in candidates or stem in lexicon.GENERIC:
        return stem
    for known in candidates:
        if abs(len(known) - len(stem)) <= 1 and _one_edit_apart(stem, known):
            return known
    return stem


def _one_edit_apart(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    shorter, longer = sorted((a, b), key=len)
    i = next((i for i in range(len(shorter)) if shorter[i] != longer[i]), len(shorter))
    return shorter[i:] == longer[i + 1 :]


def _pieces(text: str) -> list[str]:
    """jieba's words, each preceded by the dictionary words inside it (as its search mode does) —
    except a word the lexicon knows, which stands whole: 多长时间 is 多久, not also 多长 and 长时间."""
    import jieba

    pieces: list[str] = []
    frequencies = jieba.dt.FREQ
    for word in jieba.cut(text, HMM=False):
        if len(word) > 2 and word not in lexicon.WORD_CONCEPT:
            for size in (2, 3):
                pieces.extend(
                    word[i : i + size]
                    for i in range(len(word) - size + 1)
                    if size < len(word) and frequencies.get(word[i : i + size])
                )
        pieces.append(word)
    return pieces


def tokenize(text: str) -> list[str]:
    """Search tokens of mixed Chinese and English text: words folded onto their concept (退/退货 →
    退货, parcel/包裹 → 物流), stop words dropped. Articles, variants and questions all go through
    this, so a synonym matches whichever form the article used."""
    _load_dictionary()
    text = (text or "").lower()
    tokens: list[str] = []

    def phrase(match: re.Match[str]) -> str:
        tokens.append(lexicon.PHRASE_CONCEPT[match.group(0)])
        return " "

    text = lexicon.PHRASE.sub(phrase, text)
    if not HAN.search(text):
        _english(text, tokens)
        return tokens
    for piece in _pieces(text):
        piece = piece.strip()
        if not piece or piece in ZH_STOP:
            continue
        if HAN.search(piece):
            tokens.append(lexicon.concept(piece))
        else:
            _english(piece, tokens)
    return tokens


def token_counts(weighted_parts: Iterable[tuple[str, int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, weight in weighted_parts:
        for token in tokenize(text):
            counts[token] += weight
    return counts


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float
    coverage: float  # share of the query's IDF weight found in the article, 0..1


@dataclass
class Index:
    """BM25 postings over documents (one per article)."""

    lengths: dict[int, int] = field(default_factory=dict)
    postings: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    languages: dict[int, str] = field(default_factory=dict)

    @property
    def average_length(self) -> float:
        return (sum(self.lengths.values()) / len(self.lengths)) if self.lengths else 0.0

    def add(self, doc_id: int, language: str, weighted_parts: Iterable[tuple[str, int]]) -> Counter[str]:
        counts = token_counts(weighted_parts)
        self.add_counts(doc_id, language, counts)
        return counts

    def add_counts(self, doc_id: int, language: str, counts: Counter[str]) -> None:
        self.lengths[doc_id] = sum(counts.values())
        self.languages[doc_id] = language
        for token, count in counts.items():
            self.postings[token][doc_id] = count

    def idf(self, token: str) -> float:
        n = len(self.lengths)
        df = len(self.postings.get(token, {}))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def weights(self, terms: list[str]) -> tuple[dict[str, float], float]:
        """IDF per distinct term, and their total, where a word the index never saw weighs as much as
        the rarest possible one: it is part of the question the articles do not answer."""
        unseen_weight = math.log(1 + (len(self.lengths) + 0.5) / 0.5)
        weights = {
            t: self.idf(t) if t in self.postings else (FILLER_WEIGHT if t in lexicon.GENERIC else unseen_weight)
            for t in dict.fromkeys(terms)
        }
        return weights, sum(weights.values())

    def coverage(self, doc_id: int, weights: dict[str, float], total: float) -> float:
        if not total:
            return 0.0
        found = sum(w for t, w in weights.items() if doc_id in self.postings.get(t, {}))
        return round(found / total, 4)

    def search(self, query: str, *, limit: int = 5, language: str | None = None) -> list[Hit]:
        return self.search_terms(tokenize(query), limit=limit, language=language)

    def search_terms(self, terms: list[str], *, limit: int = 5, language: str | None = None) -> list[Hit]:
        if not terms or not self.lengths:
            return []
        weights, total_weight = self.weights(terms)
        average = self.average_length or 1.0
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        for token, weight in weights.items():
            for doc_id, tf in self.postings.get(token, {}).items():
                if language and self.languages[doc_id] != language:
                    continue
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[doc_id] / average))
                scores[doc_id] += weight * norm
                matched[doc_id] += weight
        ranked = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
        return [Hit(doc_id, round(score, 4), round(matched[doc_id] / total_weight, 4)) for doc_id, score in ranked]


def features(text: str, tokens: list[str] | None = None) -> list[str]:
    """What the variant model sees of a text: its concept tokens and the character pairs of its
    Chinese runs (so a segmentation slip still shares most pairs with the variant)."""
    tokens = tokenize(text) if tokens is None else tokens
    pairs: list[str] = []
    for run in HAN_RUN.findall(text or ""):
        pairs.extend("~" + run[i : i + 2] for i in range(len(run) - 1))
    return tokens + pairs


def _identity(doc: list[str]) -> list[str]:
    return doc


@dataclass(frozen=True)
class Candidate:
    """An article the question may be about, with the evidence the bot's confidence rests on."""

    article_id: int
    score: float  # the combined ranking score
    coverage: float  # share of the question's IDF weight the article contains (BM25 side)
    similarity: float  # cosine similarity to the closest of the article's question variants
    bm25: float
    spelling: float = 0.0  # cosine similarity of character 1–3-grams to the whole article (see Engine)
    spelling_first: bool = False  # no article of the language is closer by character n-grams
    asked: float = 0.0  # the question model's probability that customers asking this mean the article


@dataclass
class Engine:
    """The BM25 index of the articles and the variant model: a TF-IDF space (scikit-learn) fitted on
    the articles' question variants and titles, where a question's nearest variant names its article.

    The ranking combines both: BM25 coverage finds an article that *contains* the question's words,
    the variant model one that is *asked* the way the question is; each catches the other's misses."""

    index: Index
    matrix: Any = None  # sparse (columns), one row per variant, rows grouped by article
    vocabulary: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    unseen_idf: float = 0.0
    articles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # article of each group
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # each group's first row
    positions: dict[int, int] = field(default_factory=dict)  # article id → group
    subjects: frozenset[str] = frozenset()  # title words that name one topic (see subject_words)
    # The spelling model: character 1–3-gram TF-IDF of each whole article (title, keywords,
    # variants, body), one row per article in ``articles`` order. It needs no dictionary, so it is
    # a second opinion on the ranking that typos, slang and segmentation slips do not fool.
    spelling_vectorizer: Any = None
    spelling_matrix: Any = None
    article_languages: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # ``articles`` order
    # The question model (see QuestionModel) and the group (``articles`` position) of each of its classes.
    question_model: QuestionModel | None = None
    question_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def with_question_model(self, model: QuestionModel | None, titles: dict[int, str]) -> Engine:
        """This engine with another question model (``titles``: each article's title, which names
        the model's classes); the evaluation swaps in models fitted without one writer's questions."""
        by_title: dict[str, int] = {}
        for pk, title in titles.items():
            if pk in self.positions:
                by_title.setdefault(title, self.positions[pk])
        positions = np.array([by_title.get(title, -1) for title in model.titles] if model else [], dtype=np.int64)
        return replace(self, question_model=model, question_positions=positions)

    def asked_probabilities(self, text: str) -> np.ndarray:
        """Each article's probability by the question model (``articles`` order; 0 for the
        articles it has no class for)."""
        found = np.zeros(len(self.articles))
        if self.question_model is None or not len(self.question_positions):
            return found
        probability = self.question_model.probabilities(text)
        known = self.question_positions >= 0
        found[self.question_positions[known]] = probability[known]
        return found

    def fit_spelling(self, documents: list[str]) -> None:
        """Fit the spelling model on one document per article (in ``articles`` order)."""
        if not documents:
            return
        self.spelling_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
        self.spelling_matrix = normalize(self.spelling_vectorizer.fit_transform(documents)).T.tocsr()

    def spelling_similarities(self, text: str) -> np.ndarray:
        """Each article's cosine similarity to the question by character 1–3-grams (``articles`` order)."""
        if self.spelling_matrix is None:
            return np.zeros(len(self.articles))
        question = normalize(self.spelling_vectorizer.transform([(text or "").lower()]))
        return np.asarray((question @ self.spelling_matrix).todense()).ravel()

    def fit_variants(self, rows: list[tuple[int, list[str]]]) -> None:
        """Fit the TF-IDF space on the variants (``rows`` grouped by article, in order)."""
        if not rows:
            return
        vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm=None)
        self.matrix = normalize(vectorizer.fit_transform([feats for _pk, feats in rows])).tocsc()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.unseen_idf = float(self.idf.max())
        row_articles = np.array([pk for pk, _feats in rows], dtype=np.int64)
        first = np.flatnonzero(np.r_[True, row_articles[1:] != row_articles[:-1]])
        self.starts, self.articles = first, row_articles[first]
        self.positions = {int(pk): n for n, pk in enumerate(self.articles)}

    def similarities(self, text: str, tokens: list[str]) -> np.ndarray:
        """Each article's best cosine similarity between the question and one of its variants
        (indexed like ``articles``).

        The question's words that no variant has still count in its length (at the highest IDF),
        so "can I bring my dog into the store" is not a perfect match for "where are your stores"
        just because "store" is the only word the variants know."""
        if self.matrix is None:
            return np.zeros(0)
        counts = Counter(features(text, tokens))
        known = [(self.vocabulary[f], c) for f, c in counts.items() if f in self.vocabulary]
        weights = np.array([(1 + math.log(c)) * self.idf[col] for col, c in known])
        unseen = [(1 + math.log(c)) * self.unseen_idf for f, c in counts.items() if f not in self.vocabulary]
        norm = math.sqrt(float(weights @ weights) + sum(w * w for w in unseen))
        if not known or not norm:
            return np.zeros(len(self.articles))
        rows = self.matrix[:, [col for col, _c in known]] @ (weights / norm)
        return np.maximum.reduceat(np.asarray(rows).ravel(), self.starts)

    def rank(self, text: str, *, limit: int = 5, language: str | None = None) -> list[Candidate]:
        tokens = tokenize(text)
        if not tokens or not self.index.lengths:
            return []
        hits = self.index.search_terms(tokens, limit=20, language=language)
        similar = self.similarities(text, tokens)
        nearest: list[int] = []
        if len(similar):
            order = np.argsort(-similar, kind="stable")
            for n in order:
                if similar[n] <= 0 or len(nearest) == 20:
                    break
                pk = int(self.articles[n])
                if not language or self.index.languages.get(pk) == language:
                    nearest.append(pk)
        spelled = self.spelling_similarities(text)
        spelled_first: int | None = None
        if len(spelled):
            eligible = spelled if not language else np.where(self.article_languages == language, spelled, -1.0)
            spelled_first = int(eligible.argmax()) if eligible.max() > 0 else None
        asked = self.asked_probabilities(text)
        for n in np.argsort(-asked, kind="stable")[:ASKED_CANDIDATES]:
            pk = int(self.articles[n])
            if asked[n] >= ASKED_CANDIDATE_FLOOR and (not language or self.index.languages.get(pk) == language):
                nearest.append(pk)
        weights, total = self.index.weights(tokens)
        named = [t for t in dict.fromkeys(tokens) if t in self.subjects]
        bm25 = {h.article_id: h.score for h in hits}
        top = max(bm25.values(), default=0.0) or 1.0
        candidates = []
        for pk in dict.fromkeys([h.article_id for h in hits] + nearest):
            coverage = self.index.coverage(pk, weights, total)
            position = self.positions.get(pk)
            similarity = round(float(similar[position]), 4) if position is not None and len(similar) else 0.0
            probability = round(float(asked[position]), 4) if position is not None and len(asked) else 0.0
            score = (
                COVERAGE_WEIGHT * coverage
                + SIMILARITY_WEIGHT * similarity
                + BM25_WEIGHT * bm25.get(pk, 0.0) / top
                + ASKED_WEIGHT * probability
            )
            if named:
                lacking = sum(pk not in self.index.postings.get(t, {}) for t in named)
                score -= SUBJECT_PENALTY * lacking / len(named)
            spelling = round(float(spelled[position]), 4) if position is not None and len(spelled) else 0.0
            candidates.append(
                Candidate(
                    pk,
                    round(score, 4),
                    coverage,
                    similarity,
                    bm25.get(pk, 0.0),
                    spelling,
                    position is not None and position == spelled_first,
                    probability,
                )
            )
        candidates.sort(key=lambda c: (-c.score, c.article_id))
        return candidates[:limit]

    def unknown(self, tokens: list[str], text: str = "") -> list[str]:
        """The question's content words that no article and no variant has (Japan, 天气, bitcoin):
        words the knowledge base cannot be answering. Everyday filler, quantities (三天, 2 weeks) and
        by-products of the segmentation (货运 in 退货运费) are not content; a Chinese word counts only
        when it is a noun in the question (jieba's part-of-speech tags) or a retail subject the
        lexicon knows (货到付款, 礼品卡)."""
        postings = self.index.postings
        nouns = _nouns(text) if HAN.search(text or "") else set()
        found = []
        for token in dict.fromkeys(tokens):
            if token in postings or token in lexicon.GENERIC or QUANTITY.fullmatch(token):
                continue
            if token in lexicon.SYNONYMS:
                found.append(token)  # a retail subject the lexicon knows and no article covers
                continue
            if HAN.search(token):
                if not _is_noun(token, nouns):
                    continue
                known = "".join(t for t in tokens if t != token and t in postings)
                if len(token) < 2 or all(
                    lexicon.concept(ch) in postings or ch in ZH_STOP or ch in known for ch in token
                ):
                    continue
                if any(token[i : i + 2] in postings for i in range(len(token) - 1)):
                    continue  # a word jieba kept whole whose parts the articles do have (改地址 → 地址)
            elif len(token) < 3:
                continue
            found.append(token)
        return found


NOUN_TAGS = ("n", "ns", "nr", "nt", "nz", "vn", "ng")


def _nouns(text: str) -> set[str]:
    import jieba.posseg

    _load_dictionary()
    return {pair.word for pair in jieba.posseg.cut(text.lower()) if pair.flag in NOUN_TAGS and HAN.search(pair.word)}


def _is_noun(token: str, nouns: set[str]) -> bool:
    return any(token in noun for noun in nouns)


# Ranking weights, chosen on the tuning question set (see docs/models.md).
# What a word no article has weighs in a question when the lexicon calls it everyday filler
# (``lexicon.GENERIC``: today, roughly, kind, 麻烦 …): nothing — it is how the question is put, not
# what it asks, so it neither dilutes the articles' coverage of a long, polite question nor counts
# against them. Any other unseen word weighs as the rarest word (Japan, 储值卡).
FILLER_WEIGHT = 0.0
COVERAGE_WEIGHT = 0.3
SIMILARITY_WEIGHT = 0.6
BM25_WEIGHT = 0.1
# An article that lacks a subject the question names (退款 asked, the tracking article answering)
# loses this much, in proportion to the named subjects it lacks.
SUBJECT_PENALTY = 0.1
SUBJECT_TITLES = 2  # a title word in at most this many titles names one topic (its two languages)


def subject_words(titles: Iterable[list[str]]) -> frozenset[str]:
    """The title words that name a topic: in few titles (退款, 积分, 门店, invoice), not everyday words."""
    counts: Counter[str] = Counter(t for tokens in titles for t in set(tokens) if t not in lexicon.GENERIC)
    return frozenset(t for t, n in counts.items() if n <= SUBJECT_TITLES)


# The question model: what customers' labelled questions teach -----------------------------------

# Labelled customers' questions per article title, copied from the seen labelled sets (see the
# file's "about") so the shipped bot reads no test data.
CUSTOMER_QUESTIONS_FILE = Path(__file__).with_name("bot_customer_questions.json")
# How much the question model's probability adds to an article's ranking score (the other weights
# sum to 1), its regularisation, and the articles it adds to the candidates: chosen leaving one
# labelled set (one writer) out at a time (docs/models.md, eleventh round).
ASKED_WEIGHT = 1.0
ASKED_REGULARISATION = 30.0
ASKED_CANDIDATES = 3
ASKED_CANDIDATE_FLOOR = 0.1
_PUNCTUATION_RUN = re.compile(r"[\s,.!?;:~'\"，。！？；：、…～—\-()（）【】]+")


def grams_and_tokens(text: str) -> list[str]:
    """A question's character 1–3-grams (lower-cased, spelling-level, both languages) and its
    segmented, synonym-folded tokens (concept-level): what the question model and the out-of-scope
    gate read."""
    lowered = _PUNCTUATION_RUN.sub(" ", text.lower()).strip()
    grams = [lowered[i : i + n] for n in (1, 2, 3) for i in range(len(lowered) - n + 1) if lowered[i : i + n].strip()]
    return grams + [f"w:{token}" for token in tokenize(text)]


@dataclass(frozen=True)
class QuestionModel:
    """A topic classifier over how customers ask: a multinomial logistic regression on TF-IDF of
    :func:`grams_and_tokens`, one class per article that labelled customers' questions name, fitted
    on those questions and the articles' titles and variants. Unlike the variant model (nearest
    single variant) it learns which words *of a whole message* point to an article across many
    writers' phrasings — long, story-telling messages whose words the article does not use."""

    titles: tuple[str, ...]  # the article of each class, by title
    vectorizer: Any
    regression: Any

    def probabilities(self, text: str) -> np.ndarray:
        return np.asarray(self.regression.predict_proba(self.vectorizer.transform([text]))[0])


def fit_question_model(examples: list[tuple[str, str]]) -> QuestionModel | None:
    """Fit the question model on (article title, text) examples; None with fewer than two articles."""
    titles = sorted({title for title, _text in examples})
    if len(titles) < 2:
        return None
    vectorizer = TfidfVectorizer(analyzer=grams_and_tokens, sublinear_tf=True)
    features = vectorizer.fit_transform([text for _title, text in examples])
    labels = [titles.index(title) for title, _text in examples]
    regression = LogisticRegression(C=ASKED_REGULARISATION, max_iter=2000).fit(features, labels)
    return QuestionModel(tuple(titles), vectorizer, regression)


def question_examples(articles: dict[str, list[str]], asked: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The question model's examples: for each article (title → its variants) that labelled
    questions name, its title, its variants and those questions."""
    examples: list[tuple[str, str]] = []
    for title, variants in articles.items():
        if asked.get(title):
            examples.extend((title, text) for text in (title, *variants, *asked[title]))
    return examples


def customer_questions() -> dict[str, list[str]]:
    """The shipped labelled customers' questions, per article title."""
    return dict(json.loads(CUSTOMER_QUESTIONS_FILE.read_text(encoding="utf-8"))["articles"])


def published_articles_and_variants() -> tuple[dict[int, str], dict[str, list[str]]]:
    """Each published article's title, and each title's variants."""
    titles = dict(Article.objects.filter(state=Article.State.PUBLISHED).values_list("pk", "title"))
    variants: dict[str, list[str]] = {title: [] for title in titles.values()}
    for pk, text in ArticleQuestion.objects.filter(article__in=list(titles)).values_list("article_id", "text"):
        variants[titles[pk]].append(text)
    return titles, variants


_question_models: dict[str, QuestionModel | None] = {}


def question_model_for(examples: list[tuple[str, str]]) -> QuestionModel | None:
    """The question model of these examples, fitted once per process for the same examples (a
    fit takes seconds; the engine is rebuilt whenever an article changes)."""
    key = hashlib.sha256(json.dumps(examples, ensure_ascii=False).encode()).hexdigest()
    if key not in _question_models:
        _question_models.clear()
        _question_models[key] = fit_question_model(examples)
    return _question_models[key]


_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Engine] | None = None
# Token counts and variant features per article and version: a rebuild after one article (or its
# variants) changed segments only that one.
_article_tokens: dict[int, tuple[str, Counter[str], list[list[str]], str]] = {}


def build_engine(articles: Iterable[tuple[int, str, Counter[str], list[list[str]], str]]) -> Engine:
    """An engine over (id, language, token counts, variant features, spelling document) of each article."""
    index = Index()
    rows: list[tuple[int, list[str]]] = []
    titles: list[list[str]] = []
    documents: dict[int, str] = {}
    for pk, language, counts, variant_features, document in articles:
        index.add_counts(pk, language, counts)
        rows.extend((pk, feats) for feats in variant_features)
        titles.append([f for f in variant_features[0] if not f.startswith("~")] if variant_features else [])
        documents[pk] = document
    engine = Engine(index)
    engine.fit_variants(rows)
    engine.fit_spelling([documents[int(pk)] for pk in engine.articles])
    engine.article_languages = np.array([index.languages[int(pk)] for pk in engine.articles], dtype=object)
    engine.subjects = subject_words(titles)
    return engine


def article_tokens(
    title: str, keywords: str, body: str, questions: list[str]
) -> tuple[Counter[str], list[list[str]], str]:
    """An article's BM25 token counts, the variant model's rows (its title and each variant) and
    the spelling model's document (all its text, lower-cased)."""
    counts: Counter[str] = Counter()
    variant_features = [features(title)]
    for text, weight in ((title, TITLE_WEIGHT), (keywords, TITLE_WEIGHT), (body, 1)):
        for token in tokenize(text):
            counts[token] += weight
    for question in questions:
        tokens = tokenize(question)
        for token in tokens:
            counts[token] += QUESTION_WEIGHT
        variant_features.append(features(question, tokens))
    document = "\n".join((title, keywords, *questions, body)).lower()
    return counts, variant_features, document


def published_engine() -> Engine:
    """The engine over published articles, rebuilt only when an article or a variant changed."""
    global _cached
    published = Article.objects.filter(state=Article.State.PUBLISHED)
    stats = published.aggregate(n=Count("pk"), latest=Max("updated_at"))
    variants = ArticleQuestion.objects.filter(article__state=Article.State.PUBLISHED).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    asked = CUSTOMER_QUESTIONS_FILE.stat().st_mtime_ns  # the labelled questions the question model learns from
    key = (stats["n"], str(stats["latest"]), variants["n"], variants["last"], asked)
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    rows = published.annotate(variant_count=Count("questions"), variant_last=Max("questions__pk")).values_list(
        "pk", "language", "updated_at", "variant_count", "variant_last"
    )
    versions = {pk: (language, f"{updated}|{n}|{last}") for pk, language, updated, n, last in rows}
    stale = [pk for pk, (_language, version) in versions.items() if _article_tokens.get(pk, ("",))[0] != version]
    questions: dict[int, list[str]] = defaultdict(list)
    for pk, text in ArticleQuestion.objects.filter(article__in=stale).values_list("article_id", "text"):
        questions[pk].append(text)
    for article in published.filter(pk__in=stale).only("pk", "title", "keywords", "body"):
        counts, variant_features, document = article_tokens(
            article.title, article.keywords, article.body, questions[article.pk]
        )
        _article_tokens[article.pk] = (versions[article.pk][1], counts, variant_features, document)
    for gone in set(_article_tokens) - set(versions):
        _article_tokens.pop(gone, None)
    engine = build_engine(
        (pk, language, *_article_tokens[pk][1:])
        for pk, (language, version) in versions.items()
        if pk in _article_tokens and _article_tokens[pk][0] == version
    )
    titles, variants = published_articles_and_variants()
    engine = engine.with_question_model(question_model_for(question_examples(variants, customer_questions())), titles)
    with _cache_lock:
        _cached = (key, engine)
    return engine


def published_index() -> Index:
    """The BM25 index of published articles (the console's search and ticket suggestions)."""
    return published_engine().index


def language_of(text: str) -> str:
    """zh-hans when the text has more Han characters than Latin letters, else en."""
    han = len(HAN.findall(text or ""))
    latin = len(re.findall(r"[A-Za-z]", text or ""))
    return "zh-hans" if han and han * 2 >= latin else "en"


def search_articles(query: str, *, limit: int = 5, language: str | None = None) -> list[tuple[Article, Hit]]:
    """Published articles for a query, best first, with their scores."""
    hits = published_index().search(query, limit=limit, language=language)
    articles = Article.objects.select_related("category").in_bulk([h.article_id for h in hits])
    return [(articles[h.article_id], h) for h in hits if h.article_id in articles]


def suggest_for_ticket(subject: str, body: str, *, limit: int = 3) -> list[tuple[Article, Hit]]:
    """Articles that may answer a ticket, in its language (then any language when none match)."""
    text = f"{subject}\n{body[:2000]}"
    found = search_articles(text, limit=limit, language=language_of(text))
    return found or search_articles(text, limit=limit)
