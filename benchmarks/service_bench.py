"""Knowledge-base search speed: building the in-memory BM25 index and answering questions with it,
against scoring every article per question (the same BM25, no postings lists) as the baseline
measured in the same run.

Articles are generated from the demo's 16 topics in both languages: each generated article is a
topic's text with sentences of other topics mixed in, so the vocabulary and the Chinese
segmentation are those of real support articles. The queries are the 82 questions of the bot's
labelled set. The database is not involved (the index is cached per process; a request adds one
aggregate query and one ``in_bulk``).

    .venv/bin/python benchmarks/service_bench.py                 # 2,000 articles
    .venv/bin/python benchmarks/service_bench.py --articles 20000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django

django.setup()

from rapport.service.search import K1, TITLE_WEIGHT, B, Index, tokenize  # noqa: E402
from rapport.service.seed import TOPICS  # noqa: E402

QUESTIONS = Path(__file__).resolve().parents[1] / "src/rapport/service/tests/data/bot_questions.json"


def generate(count: int, rng: random.Random) -> list[tuple[int, str, str, str, str]]:
    sentences = {"zh-hans": [], "en": []}
    for topic in TOPICS:
        sentences["zh-hans"].extend(s for s in topic.zh[2].replace("\n", "").split("。") if s)
        sentences["en"].extend(s for s in topic.en[2].replace("\n", " ").split(". ") if s)
    articles = []
    for n in range(count):
        topic = rng.choice(TOPICS)
        language = rng.choice(["zh-hans", "en"])
        title, keywords, body = topic.zh if language == "zh-hans" else topic.en
        joiner = "。" if language == "zh-hans" else ". "
        extra = joiner.join(rng.sample(sentences[language], 4))
        articles.append((n + 1, language, f"{title} {n}", keywords, f"{body}\n\n{extra}"))
    return articles


def brute_force(documents: dict[int, Counter[str]], query: str) -> list[int]:
    """The same BM25 scoring every document for every question: no postings, no index."""
    terms = list(dict.fromkeys(tokenize(query)))
    n = len(documents)
    average = sum(sum(c.values()) for c in documents.values()) / n
    df = {t: sum(1 for c in documents.values() if t in c) for t in terms}
    scores = {}
    for doc_id, counts in documents.items():
        length = sum(counts.values())
        score = 0.0
        for t in terms:
            tf = counts.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        if score:
            scores[doc_id] = score
    return [d for d, _s in sorted(scores.items(), key=lambda i: (-i[1], i[0]))[:5]]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    questions = [q["question"] for q in json.loads(QUESTIONS.read_text(encoding="utf-8"))]
    tokenize("预热 warm up")  # jieba loads its dictionary on first use; not part of the figures

    articles = generate(args.articles, rng)
    started = time.perf_counter()
    index = Index()
    for doc_id, language, title, keywords, body in articles:
        index.add(doc_id, language, [(title, TITLE_WEIGHT), (keywords, TITLE_WEIGHT), (body, 1)])
    build = time.perf_counter() - started

    indexed, scanned = [], []
    documents = {d: Counter({t: c[d] for t, c in index.postings.items() if d in c}) for d in index.lengths}
    agree = 0
    for question in questions:
        t0 = time.perf_counter()
        hits = index.search(question, limit=5)
        t1 = time.perf_counter()
        baseline = brute_force(documents, question)
        t2 = time.perf_counter()
        indexed.append((t1 - t0) * 1000)
        scanned.append((t2 - t1) * 1000)
        agree += [h.article_id for h in hits] == baseline
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"articles: {args.articles}, distinct tokens: {len(index.postings)}, questions: {len(questions)}")
    print(f"index build: {build:.2f} s ({args.articles / build:,.0f} articles/s)")
    for name, times in (("BM25 with postings", indexed), ("BM25 scanning every article", scanned)):
        print(
            f"{name:28s} p50 {statistics.median(times):7.2f} ms  p95 {percentile(times, 0.95):7.2f} ms  "
            f"max {max(times):7.2f} ms"
        )
    print(f"speed-up at the median: {statistics.median(scanned) / statistics.median(indexed):.1f}x")
    print(f"same top five as the baseline: {agree}/{len(questions)}")


if __name__ == "__main__":
    main()
