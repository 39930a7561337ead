"""Console pages that teach the self-service bot: an article's question variants (相似问法) and
the review of questions it could not answer or that customers voted down."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError
from rapport.core.requests import console_actor, error_text
from rapport.service import bot_review, kb
from rapport.service.models import Article, ArticleCategory, ArticleQuestion, Language


@login_required
@permission_required("service.change_article", raise_exception=True)
@require_POST
def article_questions(request: HttpRequest, pk: int) -> HttpResponse:
    """Add or remove one of an article's question variants (from the article's edit page)."""
    article = get_object_or_404(Article, pk=pk)
    try:
        if request.POST.get("remove"):
            question = ArticleQuestion.objects.filter(pk=request.POST["remove"], article=article).first()
            if question is not None:
                kb.delete_question(question, actor=console_actor(request))
                messages.success(request, _("Question removed."))
        else:
            kb.add_question(article, text=request.POST.get("text"), actor=console_actor(request))
            messages.success(request, _("Question added: the assistant uses it from now on."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("service:kb_edit", pk=article.pk)


@login_required
@permission_required("service.view_article", raise_exception=True)
def review(request: HttpRequest) -> HttpResponse:
    """Unanswered and down-voted questions, grouped by the article the bot thought of."""
    if request.method == "POST":
        action = request.POST.get("action")
        needed = {"variant": "service.change_article", "draft": "service.add_article"}.get(action or "")
        if needed and not request.user.has_perm(needed):
            raise PermissionDenied
        try:
            if action == "variant":
                settled = bot_review.add_as_variant(
                    request.POST.get("question"), request.POST.get("article"), actor=console_actor(request)
                )
                messages.success(
                    request, _("Added as a question of the article (%(n)s askings settled).") % {"n": settled}
                )
            elif action == "draft":
                article = bot_review.draft_article(
                    request.POST.get("question"), request.POST, actor=console_actor(request)
                )
                messages.success(request, _("Draft article written: publish it when it is ready."))
                return redirect("service:kb_edit", pk=article.pk)
            elif action == "dismiss":
                if not request.user.has_perm("service.change_article"):
                    raise PermissionDenied
                bot_review.dismiss(request.POST.get("question"))
                messages.success(request, _("Dismissed."))
            else:
                messages.error(request, _("action: unknown action"))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        return redirect("service:bot_review")
    context = {
        "nav": "service",
        "groups": bot_review.review_groups(),
        "articles": Article.objects.select_related("category").order_by("language", "title"),
        "categories": ArticleCategory.objects.all(),
        "article_languages": Language.choices,
    }
    return render(request, "service/bot_review.html", context)
