"""Knowledge-base (知识库) rules: article categories and articles, drafts and publishing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.service import clock
from rapport.service.models import Article, ArticleCategory, ArticleQuestion, Language
from rapport.service.validation import clean_text

ARTICLE_FIELDS = ("title", "body", "keywords", "language", "category", "state")


@transaction.atomic
def save_category(
    *, name: Any, position: Any = 0, actor: Actor, instance: ArticleCategory | None = None
) -> ArticleCategory:
    errors: list[FieldError] = []
    text = clean_text(name, "name", 80, errors, required=True)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 100_000:
        errors.append(FieldError("position", "invalid", "a whole number from 0 to 100000"))
    clash = ArticleCategory.objects.filter(name=text).exclude(pk=instance.pk if instance else 0)
    if text and clash.exists():
        errors.append(FieldError("name", "duplicate", f"a category {text!r} exists"))
    if errors:
        raise InvalidInput(errors)
    category = instance or ArticleCategory()
    category.name, category.position = text, position
    category.save()
    record(
        actor, AuditEntry.Action.UPDATE if instance else AuditEntry.Action.CREATE, obj=category, changes={"name": text}
    )
    return category


@transaction.atomic
def delete_category(category: ArticleCategory, *, actor: Actor) -> None:
    if category.articles.exists():
        raise Conflict.single("category", "in_use", "move or delete this category's articles first")
    record(actor, AuditEntry.Action.DELETE, obj=category, changes={"name": category.name})
    category.delete()


@transaction.atomic
def save_article(*, data: Mapping[str, Any], actor: Actor, instance: Article | None = None) -> Article:
    """Create or change an article; publishing stamps ``published_at`` the first time."""
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in ARTICLE_FIELDS]
    merged: dict[str, Any] = {}
    if instance is not None:
        merged = {
            "title": instance.title,
            "body": instance.body,
            "keywords": instance.keywords,
            "language": instance.language,
            "category": instance.category_id,
            "state": instance.state,
        }
    merged.update(data)
    title = clean_text(merged.get("title"), "title", 200, errors, required=True)
    body = clean_text(merged.get("body"), "body", 50_000, errors, required=True)
    keywords = clean_text(merged.get("keywords"), "keywords", 300, errors, required=False)
    language = merged.get("language")
    if language not in Language.values:
        errors.append(FieldError("language", "invalid", f"one of: {', '.join(Language.values)}"))
    state = merged.get("state") or Article.State.DRAFT
    if state not in Article.State.values:
        errors.append(FieldError("state", "invalid", "draft or published"))
    category_ref = merged.get("category")
    category = None
    if isinstance(category_ref, ArticleCategory):
        category = category_ref
    elif isinstance(category_ref, int) and not isinstance(category_ref, bool):
        category = ArticleCategory.objects.filter(pk=category_ref).first()
    elif isinstance(category_ref, str) and category_ref.strip():
        category = ArticleCategory.objects.filter(name=category_ref.strip()).first()
    if category is None:
        errors.append(FieldError("category", "not_found", "an existing article category (id or name)"))
    if errors:
        raise InvalidInput(errors)
    article = instance or Article()
    article.title, article.body, article.keywords = title, body, keywords
    article.language, article.state, article.category = language, state, category  # type: ignore[assignment]
    if state == Article.State.PUBLISHED and article.published_at is None:
        article.published_at = clock.now()
    article.save()
    record(
        actor,
        AuditEntry.Action.UPDATE if instance else AuditEntry.Action.CREATE,
        obj=article,
        changes={"title": title, "state": state, "language": language},
    )
    return article


@transaction.atomic
def delete_article(article: Article, *, actor: Actor) -> None:
    record(actor, AuditEntry.Action.DELETE, obj=article, changes={"title": article.title})
    article.delete()


@transaction.atomic
def add_question(
    article: Article, *, text: Any, source: str = ArticleQuestion.Source.STAFF, actor: Actor
) -> ArticleQuestion:
    """Add a way customers ask for this article (相似问法); the bot learns it on its next question."""
    errors: list[FieldError] = []
    cleaned = clean_text(text, "question", 200, errors, required=True)
    if source not in ArticleQuestion.Source.values:
        errors.append(FieldError("source", "invalid", f"one of: {', '.join(ArticleQuestion.Source.values)}"))
    if cleaned and article.questions.filter(text=cleaned).exists():
        errors.append(FieldError("question", "duplicate", "this article already has this question"))
    if errors:
        raise InvalidInput(errors)
    question = ArticleQuestion.objects.create(article=article, text=cleaned, source=source)
    record(actor, AuditEntry.Action.UPDATE, obj=article, changes={"question_added": cleaned})
    return question


@transaction.atomic
def delete_question(question: ArticleQuestion, *, actor: Actor) -> None:
    record(actor, AuditEntry.Action.UPDATE, obj=question.article, changes={"question_removed": question.text})
    question.delete()
