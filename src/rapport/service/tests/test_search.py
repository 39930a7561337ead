"""Knowledge-base search: Chinese segmentation, English tokens, BM25 ranking, the cached index."""

from __future__ import annotations

import pytest

from rapport.service import kb, search
from rapport.service.models import Article, ArticleCategory
from rapport.service.search import Index, suggest_for_ticket, tokenize

pytestmark = pytest.mark.django_db


def test_tokens_for_chinese_and_english():
    assert "退货" in tokenize("我想退货，怎么办？") and "的" not in tokenize("我的订单")
    assert tokenize("How do I return my shoes?") == ["退货", "商品"]
    assert {"会员", "权益"} <= set(tokenize("VIP会员有什么权益"))


def test_bm25_prefers_rarer_terms_and_shorter_documents():
    index = Index()
    index.add(1, "en", [("refund refund warranty", 1)])
    index.add(2, "en", [("warranty for shipping and many other long words about warranty things", 1)])
    index.add(3, "en", [("warranty", 1)])
    hits = index.search("refund warranty")
    assert hits[0].article_id == 1
    assert hits[0].coverage == 1.0 and hits[1].coverage < 0.5
    assert index.search("refund", language="zh-hans") == []


def test_everyday_filler_no_article_has_weighs_nothing_in_a_question():
    index = Index()
    index.add(1, "en", [("warranty cover", 1)])
    index.add(2, "en", [("shipping", 1)])
    weights, total = index.weights(["warranty", "roughly", "today", "japan"])
    # "today" is everyday filler (lexicon.GENERIC), "japan" is not: it may be what the question asks
    assert weights["today"] == search.FILLER_WEIGHT == 0.0
    assert weights["japan"] >= weights["warranty"] > 0
    assert total == weights["warranty"] + weights["japan"] + weights["roughly"]
    assert index.coverage(1, *index.weights(["warranty", "today"])) == 1.0


def test_the_index_follows_article_changes(system_actor):
    category = ArticleCategory.objects.create(name="Help")
    article = kb.save_article(
        data={"title": "Gift wrapping", "body": "We wrap gifts for free.", "language": "en", "category": category.pk},
        actor=system_actor,
    )
    assert search.search_articles("gift wrap") == []  # a draft is not searched
    kb.save_article(data={"state": "published"}, actor=system_actor, instance=article)
    assert [a.pk for a, _hit in search.search_articles("gift wrap")] == [article.pk]
    kb.save_article(data={"state": "draft"}, actor=system_actor, instance=article)
    assert search.search_articles("gift wrap") == []


def test_suggestions_for_a_ticket_in_its_language(seeded_kb):
    found = suggest_for_ticket("包裹破损", "收到的杯子碎了，盒子也压坏了")
    assert found[0][0].title == "收到商品破损或有质量问题"
    found = suggest_for_ticket("Wrong size", "The jacket is too small, I need a bigger size")
    assert found[0][0].title == "Exchanging for another size"


def test_a_rebuild_segments_only_the_articles_that_changed(seeded_kb, system_actor, monkeypatch):
    search.published_index()
    segmented = []
    real = search.article_tokens
    monkeypatch.setattr(search, "article_tokens", lambda *parts: segmented.append(1) or real(*parts))
    article = search.Article.objects.filter(language="en").first()
    kb.save_article(data={"keywords": article.keywords + " parcel"}, actor=system_actor, instance=article)
    assert search.search_articles("parcel")
    assert len(segmented) == 1


def test_the_spelling_model_finds_the_article_through_typos_and_slang(seeded_kb):
    """Character n-grams need no dictionary: a misspelt or colloquial question is still closest to
    its article, which the bot's confidence takes as a second opinion on the ranking."""
    engine = search.published_engine()
    titles = dict(Article.objects.values_list("pk", "title"))
    for question, title in (
        ("how long does a refnud tkae", "When will I get my refund?"),
        ("退款多久到帐", "退款多久到账"),
        ("积分咋用", "积分怎么获得和使用"),
    ):
        best = engine.rank(question, language=search.language_of(question))[0]
        assert titles[best.article_id] == title and best.spelling_first and best.spelling > 0.2, question
