"""Knowledge-base search: tokens for Chinese (jieba's search-mode segmentation) and English
(lower-cased words, light stemming), ranked with Okapi BM25 over title, keywords and body.

The index is built in memory from the published articles and cached per process; it is rebuilt
when the articles change (their count and latest ``updated_at`` form the cache key), so a
request never scans more than the token lists of the matching postings.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Max

from rapport.service.models import Article

logger = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
TITLE_WEIGHT = 3  # a title or keyword token counts as this many body tokens
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
HAN = re.compile(r"[\u3400-\u9fff]")
_ENGLISH_STOP_WORDS = (
    "a an the and or but if of to in on at for from by with about as is are was were be been being do does did "
    "i me my we our you your he she it its they them their this that these those what which who whom how when "
    "where why can could would should will shall may might must have has had not no yes please thanks thank "
    "hi hello there here any some get got am just so than too very also"
)
_CHINESE_STOP_WORDS = (
    "的 了 吗 呢 吧 啊 呀 我 你 他 她 它 我们 你们 是 在 有 和 与 及 就 都 也 还 要 会 能 可以 怎么 怎样 如何 什么 "
    "多久 哪里 请问 一下 这个 那个 这 那 个 请 谢谢 您好 你好 想 问 为什么 没有 吗？ ， 。 ？ ！ 、"
)
EN_STOP = frozenset(_ENGLISH_STOP_WORDS.split())
ZH_STOP = frozenset(_CHINESE_STOP_WORDS.split())


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


def tokenize(text: str) -> list[str]:
    """Search tokens of mixed Chinese and English text."""
    import jieba

    text = (text or "").lower()
    tokens: list[str] = []
    if HAN.search(text):
        for piece in jieba.cut_for_search(text):
            piece = piece.strip()
            if not piece or piece in ZH_STOP:
                continue
            if HAN.search(piece):
                tokens.append(piece)
            else:
                tokens.extend(_stem(w) for w in WORD.findall(piece) if w not in EN_STOP)
    else:
        tokens.extend(_stem(w) for w in WORD.findall(text) if w not in EN_STOP)
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

    def search(self, query: str, *, limit: int = 5, language: str | None = None) -> list[Hit]:
        terms = tokenize(query)
        if not terms or not self.lengths:
            return []
        unique = list(dict.fromkeys(terms))
        weights = {t: self.idf(t) for t in unique}
        # A word the index never saw weighs as much as the rarest possible one: it is part of the
        # question the articles do not answer.
        unseen_weight = math.log(1 + (len(self.lengths) + 0.5) / 0.5)
        total_weight = sum(weights[t] if t in self.postings else unseen_weight for t in unique)
        average = self.average_length or 1.0
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        for token in unique:
            for doc_id, tf in self.postings.get(token, {}).items():
                if language and self.languages[doc_id] != language:
                    continue
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[doc_id] / average))
                scores[doc_id] += weights[token] * norm
                matched[doc_id] += weights[token]
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [Hit(doc_id, round(score, 4), round(matched[doc_id] / total_weight, 4)) for doc_id, score in ranked]


_cache_lock = threading.Lock()
_cached: tuple[tuple[int, str], Index] | None = None
# Token counts per article and version: a rebuild after one article changed segments only that one.
_article_tokens: dict[int, tuple[str, Counter[str]]] = {}


def published_index() -> Index:
    """The index of published articles, rebuilt only when an article changed."""
    global _cached
    published = Article.objects.filter(state=Article.State.PUBLISHED)
    stats = published.aggregate(n=Count("pk"), latest=Max("updated_at"))
    key = (stats["n"], str(stats["latest"]))
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    versions = {
        pk: (language, str(updated)) for pk, language, updated in published.values_list("pk", "language", "updated_at")
    }
    stale = [pk for pk, (_language, version) in versions.items() if _article_tokens.get(pk, ("",))[0] != version]
    for article in published.filter(pk__in=stale).only("pk", "title", "keywords", "body", "updated_at"):
        parts = [(article.title, TITLE_WEIGHT), (article.keywords, TITLE_WEIGHT), (article.body, 1)]
        _article_tokens[article.pk] = (str(article.updated_at), token_counts(parts))
    for gone in set(_article_tokens) - set(versions):
        _article_tokens.pop(gone, None)
    index = Index()
    for pk, (language, version) in versions.items():
        cached = _article_tokens.get(pk)
        if cached is not None and cached[0] == version:
            index.add_counts(pk, language, cached[1])
    with _cache_lock:
        _cached = (key, index)
    return index


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
