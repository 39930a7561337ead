"""Member portal pages for service: the contact form (a ticket), the member's tickets with their
replies (and answering them), published articles, and the self-service chat with hand-over.

Every view is behind :func:`rapport.portal.auth.member_required` (``request.member`` is the
customer); a member only ever sees their own tickets and conversations.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.commerce.models import Order
from rapport.core.errors import Conflict, DomainError, FieldError
from rapport.portal.auth import member_actor, member_required
from rapport.service import bot, services
from rapport.service.attachments import uploaded_files
from rapport.service.models import Article, BotConversation, Category, MessageKind, Ticket

MEMBER_CATEGORIES = [Category.INQUIRY, Category.COMPLAINT, Category.AFTER_SALES, Category.OTHER]


def _member(request: HttpRequest) -> Any:
    return request.member  # type: ignore[attr-defined]


@member_required
def contact(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            ticket = services.open_ticket(
                customer=member,
                channel="portal",
                subject=request.POST.get("subject"),
                body=request.POST.get("body"),
                category=request.POST.get("category") or Category.INQUIRY,
                order=request.POST.get("order") or None,
                files=uploaded_files(request),
                actor=member_actor(request),
            )
            messages.success(request, _("Thank you. Your request %(number)s is with us.") % {"number": ticket.number})
            return redirect("service:portal_ticket", pk=ticket.pk)
        except DomainError as exc:
            errors = exc.errors
    context = {
        "portal_section": "service",
        "errors": errors,
        "data": request.POST,
        "orders": Order.objects.filter(customer=member).order_by("-placed_at")[:20],
        "categories": [(c.value, c.label) for c in MEMBER_CATEGORIES],
    }
    return render(request, "service/portal/contact.html", context, status=422 if errors else 200)


@member_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    tickets = Ticket.objects.filter(customer=_member(request), merged_into__isnull=True).order_by("-created_at")
    return render(request, "service/portal/tickets.html", {"portal_section": "service", "tickets": tickets[:50]})


@member_required
def my_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = Ticket.objects.filter(pk=pk, customer=_member(request)).first()
    if ticket is None:
        raise Http404(_("No such request."))
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            services.customer_message(
                ticket, body=request.POST.get("body"), files=uploaded_files(request), actor=member_actor(request)
            )
            return redirect("service:portal_ticket", pk=ticket.pk)
        except DomainError as exc:
            errors = exc.errors
    thread = ticket.messages.exclude(kind=MessageKind.NOTE).prefetch_related("attachments")
    context = {"portal_section": "service", "ticket": ticket, "thread": thread, "errors": errors}
    return render(request, "service/portal/ticket.html", context, status=422 if errors else 200)


@member_required
def article(request: HttpRequest, pk: int) -> HttpResponse:
    found = Article.objects.filter(pk=pk, state=Article.State.PUBLISHED).select_related("category").first()
    if found is None:
        raise Http404(_("No such article."))
    return render(request, "service/portal/article.html", {"portal_section": "help", "article": found})


@member_required
def chat(request: HttpRequest) -> HttpResponse:
    return render(request, "service/portal/chat.html", {"portal_section": "help"})


def _conversation(request: HttpRequest, token: Any) -> BotConversation | None:
    if not token:
        return None
    try:
        return BotConversation.objects.filter(token=str(token), customer=_member(request)).first()
    except (ValueError, DomainError):
        return None


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _errors(exc: DomainError, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [e.as_dict() for e in exc.errors]}, status=status)


def _handed_over(conversation: BotConversation) -> dict[str, Any]:
    ticket = conversation.ticket
    assert ticket is not None
    due = ticket.first_response_due or bot.expected_reply_by()
    return {
        "handed_over": True,
        "ticket": ticket.number,
        "ticket_url": reverse("service:portal_ticket", args=[ticket.pk]),
        "reply_by": due.isoformat(),
        "text": _("A person will answer you here by %(time)s: %(number)s. We have passed on our conversation.")
        % {"number": ticket.number, "time": bot.format_moment(due)},
    }


@member_required
@require_POST
def chat_ask(request: HttpRequest) -> JsonResponse:
    """One question: the answer (an article's passage with its link, a small-talk reply or the
    member's orders), an offer of a person when the bot is unsure, or the ticket when the member
    asked for a person."""
    data = _json_body(request)
    conversation = _conversation(request, data.get("conversation")) or bot.start(_member(request))
    try:
        reply = bot.ask(conversation, data.get("question"))
    except DomainError as exc:
        return _errors(exc, 409 if isinstance(exc, Conflict) else 400)
    conversation.refresh_from_db()
    result = reply.answer
    body: dict[str, Any] = {
        "conversation": str(conversation.token),
        "question": reply.question.pk,
        "confidence": result.confidence,
        "kind": reply.question.outcome,
    }
    if result.handed_over and not reply.offer_handover:
        return JsonResponse({**body, **_handed_over(conversation)})
    if reply.offer_handover:
        return JsonResponse({**body, "handed_over": False, "offer_handover": True, "text": reply.text})
    source = None
    if result.article is not None:
        source = {"title": result.article.title, "url": reverse("service:portal_article", args=[result.article.pk])}
    return JsonResponse({**body, "handed_over": False, "offer_handover": False, "text": reply.text, "source": source})


@member_required
@require_POST
def chat_handover(request: HttpRequest) -> JsonResponse:
    """The member accepts a person: the ticket carries the conversation so far."""
    data = _json_body(request)
    conversation = _conversation(request, data.get("conversation")) or bot.start(_member(request))
    bot.hand_over(conversation)
    conversation.refresh_from_db()
    return JsonResponse({"conversation": str(conversation.token), **_handed_over(conversation)})


@member_required
@require_POST
def chat_feedback(request: HttpRequest) -> JsonResponse:
    """👍/👎 on one of the bot's answers in the member's own conversation."""
    data = _json_body(request)
    conversation = _conversation(request, data.get("conversation"))
    if conversation is None:
        return JsonResponse(
            {"errors": [{"field": "conversation", "code": "not_found", "message": "no such conversation"}]},
            status=404,
        )
    try:
        logged = bot.vote(conversation, data.get("question"), data.get("vote"))
    except DomainError as exc:
        return _errors(exc)
    return JsonResponse({"question": logged.pk, "vote": logged.vote})
