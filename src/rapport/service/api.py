"""``/api/v1`` customer service: tickets (open, list by view, read with messages and history,
change, reply, note, status, assign, merge, suggested articles), knowledge-base articles with
search, and service reports. Handlers parse, call one service and shape the answer.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Field, Router
from ninja import Status as Answer

from rapport.accounts.scopes import PII_REVEAL, SERVICE_READ, SERVICE_WRITE
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.core.listing import page_body, paginate
from rapport.customers import queries as customer_queries
from rapport.service import kb, reports, services
from rapport.service.attachments import IncomingFile
from rapport.service.models import Article, Category, Status, Ticket, TicketEvent, TicketMessage
from rapport.service.responses import (
    ArticlePage,
    GetTicketOut,
    OpenTicketOut,
    ReplyOut,
    RevealDeliveryAddressesOut,
    ServiceNoteOut,
    ServiceReportOut,
    TicketOut,
    TicketPage,
)
from rapport.service.search import search_articles, suggest_for_ticket

router = Router(tags=["service"], exclude_unset=True)

VIEW = "service.view_ticket"
WORK = "service.work_ticket"


# Bodies ---------------------------------------------------------------------------------------


class FileIn(Strict):
    file_name: str = Field(max_length=200)
    content_type: str = Field("", max_length=100)
    data: str = Field(description="the file's bytes, base64")


class TicketIn(Strict):
    customer_id: int | None = Field(None, description="an existing customer; or give email/phone")
    email: str | None = Field(None, description="find the customer by email (blind index), or create one")
    phone: str | None = None
    name: str | None = Field(None, description="the name for a customer created from email/phone")
    subject: str
    body: str
    category: Literal["inquiry", "complaint", "after_sales", "other"] = "inquiry"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    order: int | str | None = Field(None, description="the customer's order: id or external id")
    files: list[FileIn] = Field(default_factory=list, max_length=10)


class TicketPatch(Strict):
    subject: str | None = None
    category: Literal["inquiry", "complaint", "after_sales", "other"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    order: int | str | None = None


class ReplyIn(Strict):
    body: str
    then: Literal["open", "pending", "resolved"] = "pending"
    files: list[FileIn] = Field(default_factory=list, max_length=10)


class NoteIn(Strict):
    body: str
    files: list[FileIn] = Field(default_factory=list, max_length=10)


class StatusIn(Strict):
    status: Literal["open", "pending", "resolved", "closed"]


class AssignIn(Strict):
    assignee: str | None = Field(description="an agent's username; null to unassign")


class MergeIn(Strict):
    duplicates: list[int] = Field(min_length=1, max_length=50, description="ticket ids folded into this one")


class ArticleIn(Strict):
    title: str | None = None
    body: str | None = None
    keywords: str | None = None
    language: Literal["zh-hans", "en"] | None = None
    category: int | str | None = None
    state: Literal["draft", "published"] | None = None


def _files(items: list[FileIn]) -> list[IncomingFile]:
    files = []
    for position, item in enumerate(items):
        try:
            data = base64.b64decode(item.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput.single(f"files[{position}].data", "invalid", "not valid base64") from exc
        files.append(IncomingFile(item.file_name, item.content_type, data))
    return files


# Representations ------------------------------------------------------------------------------


def _user(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def ticket_body(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "category": ticket.category,
        "priority": ticket.priority,
        "status": ticket.status,
        "channel": ticket.channel,
        "customer": {"id": ticket.customer_id, "name": ticket.customer.name},
        "order_id": ticket.order_id,
        "store": ticket.store.code if ticket.store else None,
        "assignee": _user(ticket.assignee),
        "merged_into": ticket.merged_into_id,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "sla": {
            "first_response_due": ticket.first_response_due,
            "resolution_due": ticket.resolution_due,
            "paused": ticket.paused_since is not None,
            "paused_minutes": ticket.paused_minutes,
            "first_response_breached": ticket.first_response_breached,
            "resolution_breached": ticket.resolution_breached,
            "escalated_at": ticket.escalated_at,
        },
    }


def message_body(message: TicketMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "kind": message.kind,
        "author": message.author_label,
        "body": message.body,
        "message_id": message.message_id,
        "delivery": message.delivery or None,
        "delivery_detail": services.delivery_note(message),
        "attachments": [
            {"id": a.pk, "file_name": a.file_name, "content_type": a.content_type, "size": a.size}
            for a in message.attachments.all()
        ],
        "created_at": message.created_at,
    }


def event_body(event: TicketEvent) -> dict[str, Any]:
    return {"action": event.action, "actor": event.actor_label, "data": event.data, "at": event.at}


def article_body(article: Article, *, full: bool = True) -> dict[str, Any]:
    body = {
        "id": article.pk,
        "title": article.title,
        "language": article.language,
        "category": {"id": article.category_id, "name": article.category.name},
        "state": article.state,
        "keywords": article.keywords,
        "published_at": article.published_at,
        "updated_at": article.updated_at,
    }
    if full:
        body["body"] = article.body
    return body


def _tickets() -> Any:
    return Ticket.objects.select_related("customer", "assignee", "store")


def _ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    visible = customer_queries.visible_customers(request.user).values("pk")
    ticket = _tickets().filter(pk=ticket_id, customer_id__in=visible).first()
    if ticket is None:
        raise NotFound.single("ticket_id", "not_found", f"no ticket #{ticket_id}")
    return ticket


def _article(article_id: int) -> Article:
    article = Article.objects.select_related("category").filter(pk=article_id).first()
    if article is None:
        raise NotFound.single("article_id", "not_found", f"no article #{article_id}")
    return article


# Tickets --------------------------------------------------------------------------------------


@router.get(
    "/tickets",
    response={200: TicketPage},
    summary="Tickets in a view (mine, unassigned, breaching, open, all), filtered",
)
def list_tickets(
    request: HttpRequest,
    view: str = "open",
    status: str | None = None,
    category: str | None = None,
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, SERVICE_READ, VIEW)
    tickets = services.inbox(view, user=request.user)
    tickets = tickets.filter(customer_id__in=customer_queries.visible_customers(request.user).values("pk"))
    errors = []
    if status:
        if status not in Status.values:
            errors.append(FieldError("status", "invalid", "new, open, pending, resolved or closed"))
        tickets = tickets.filter(status=status)
    if category:
        if category not in Category.values:
            errors.append(FieldError("category", "invalid", "inquiry, complaint, after_sales or other"))
        tickets = tickets.filter(category=category)
    if errors:
        raise InvalidInput(errors)
    if customer_id is not None:
        tickets = tickets.filter(customer_id=customer_id)
    page = paginate(tickets, limit=limit, offset=offset)
    return page_body(page, [ticket_body(t) for t in page.items])


@router.post("/tickets", response={201: OpenTicketOut}, summary="Open a ticket for a customer (by id, email or phone)")
def open_ticket(request: HttpRequest, payload: TicketIn) -> Answer[dict[str, Any]]:
    require(request, SERVICE_WRITE, "service.add_ticket")
    actor = actor_for(request)
    files = _files(payload.files)
    options: dict[str, Any] = {
        "channel": "api",
        "subject": payload.subject,
        "body": payload.body,
        "category": payload.category,
        "priority": payload.priority,
        "order": payload.order,
        "files": files,
        "actor": actor,
    }
    if payload.customer_id is not None:
        customer = customer_queries.visible_customers(request.user).filter(pk=payload.customer_id).first()
        if customer is None:
            raise NotFound.single("customer_id", "not_found", f"no customer #{payload.customer_id}")
        ticket = services.open_ticket(customer=customer, **options)
    else:
        ticket = services.open_ticket_for_contact(
            email=payload.email or "", phone=payload.phone or "", name=payload.name or "", **options
        )
    return Answer(201, ticket_body(ticket))


@router.get(
    "/tickets/{ticket_id}",
    response={200: GetTicketOut},
    summary="A ticket with its messages (notes included) and history",
)
def get_ticket(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    require(request, SERVICE_READ, VIEW)
    ticket = _ticket(request, ticket_id)
    messages = ticket.messages.prefetch_related("attachments")
    return {
        **ticket_body(ticket),
        "messages": [message_body(m) for m in messages],
        "history": [event_body(e) for e in ticket.events.all()],
    }


@router.post(
    "/tickets/{ticket_id}/reveal",
    response={200: RevealDeliveryAddressesOut},
    summary="Where the ticket's replies went, in plaintext (audited)",
)
def reveal_delivery_addresses(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    require(request, PII_REVEAL, VIEW, "customers.reveal_pii")
    revealed = services.reveal_delivery_addresses(_ticket(request, ticket_id), actor=actor_for(request))
    return {"messages": [{"id": pk, "delivery_address": address} for pk, address in revealed.items()]}


@router.patch(
    "/tickets/{ticket_id}", response={200: TicketOut}, summary="Change subject, category, priority or the linked order"
)
def update_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch) -> dict[str, Any]:
    require(request, SERVICE_WRITE, WORK)
    ticket = _ticket(request, ticket_id)
    data = payload.model_dump(exclude_unset=True)
    return ticket_body(services.update_ticket(ticket, data=data, actor=actor_for(request)))


@router.post("/tickets/{ticket_id}/replies", response={201: ReplyOut}, summary="Reply to the customer")
def reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Answer[dict[str, Any]]:
    require(request, SERVICE_WRITE, WORK)
    ticket = _ticket(request, ticket_id)
    message = services.reply(
        ticket, body=payload.body, then=payload.then, files=_files(payload.files), actor=actor_for(request)
    )
    message.refresh_from_db()
    return Answer(201, message_body(message))


@router.post("/tickets/{ticket_id}/notes", response={201: ServiceNoteOut}, summary="Add an internal note")
def note(request: HttpRequest, ticket_id: int, payload: NoteIn) -> Answer[dict[str, Any]]:
    require(request, SERVICE_WRITE, WORK)
    message = services.add_note(
        _ticket(request, ticket_id), body=payload.body, files=_files(payload.files), actor=actor_for(request)
    )
    return Answer(201, message_body(message))


@router.post(
    "/tickets/{ticket_id}/status", response={200: dict[str, Any]}, summary="Move the ticket along its status flow"
)
def change_status(request: HttpRequest, ticket_id: int, payload: StatusIn) -> dict[str, Any]:
    require(request, SERVICE_WRITE, WORK)
    ticket = services.change_status(_ticket(request, ticket_id), status=payload.status, actor=actor_for(request))
    return ticket_body(_tickets().get(pk=ticket.pk))


@router.post("/tickets/{ticket_id}/assign", response={200: TicketOut}, summary="Assign to an agent, or unassign")
def assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> dict[str, Any]:
    require(request, SERVICE_WRITE, WORK)
    ticket = _ticket(request, ticket_id)
    assignee = None
    if payload.assignee:
        assignee = get_user_model().objects.filter(username=payload.assignee).first()
        if assignee is None:
            raise InvalidInput.single("assignee", "not_found", f"no user {payload.assignee!r}")
    ticket = services.assign(ticket, assignee=assignee, actor=actor_for(request))
    return ticket_body(_tickets().get(pk=ticket.pk))


@router.post(
    "/tickets/{ticket_id}/merge",
    response={200: TicketOut},
    summary="Fold duplicate tickets of the same customer into this one",
)
def merge(request: HttpRequest, ticket_id: int, payload: MergeIn) -> dict[str, Any]:
    require(request, SERVICE_WRITE, WORK, "service.merge_ticket")
    target = _ticket(request, ticket_id)
    duplicates = [_ticket(request, pk) for pk in payload.duplicates]
    merged = services.merge_tickets(target, duplicates, actor=actor_for(request))
    return ticket_body(_tickets().get(pk=merged.pk))


@router.get(
    "/tickets/{ticket_id}/suggestions",
    response={200: list[dict[str, Any]]},
    summary="Knowledge-base articles that may answer the ticket",
)
def suggestions(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    require(request, SERVICE_READ, VIEW)
    ticket = _ticket(request, ticket_id)
    first = ticket.messages.filter(kind__in=["customer", "bot"]).first()
    found = suggest_for_ticket(ticket.subject, first.body if first else "")
    return [{**article_body(a, full=False), "score": hit.score} for a, hit in found]


# Knowledge base -------------------------------------------------------------------------------


@router.get(
    "/articles",
    response={200: ArticlePage},
    summary="Articles; with q, published ones ranked by BM25 (Chinese and English)",
)
def list_articles(
    request: HttpRequest,
    q: str | None = None,
    language: str | None = None,
    state: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, SERVICE_READ, "service.view_article")
    if language and language not in ("zh-hans", "en"):
        raise InvalidInput.single("language", "invalid", "zh-hans or en")
    if q:
        if not 1 <= limit <= 50:
            raise InvalidInput.single("limit", "out_of_range", "limit is between 1 and 50 for a search")
        found = search_articles(q, limit=limit, language=language)
        results = [{**article_body(a, full=False), "score": hit.score} for a, hit in found]
        return {"count": len(results), "limit": limit, "offset": 0, "results": results}
    articles = Article.objects.select_related("category")
    if language:
        articles = articles.filter(language=language)
    if state:
        if state not in Article.State.values:
            raise InvalidInput.single("state", "invalid", "draft or published")
        articles = articles.filter(state=state)
    page = paginate(articles, limit=limit, offset=offset)
    return page_body(page, [article_body(a, full=False) for a in page.items])


@router.post("/articles", response={201: dict[str, Any]}, summary="Write an article (draft unless state is published)")
def create_article(request: HttpRequest, payload: ArticleIn) -> Answer[dict[str, Any]]:
    require(request, SERVICE_WRITE, "service.add_article")
    article = kb.save_article(data=payload.model_dump(exclude_unset=True), actor=actor_for(request))
    return Answer(201, article_body(article))


@router.get("/articles/{article_id}", response={200: dict[str, Any]}, summary="One article")
def get_article(request: HttpRequest, article_id: int) -> dict[str, Any]:
    require(request, SERVICE_READ, "service.view_article")
    return article_body(_article(article_id))


@router.patch(
    "/articles/{article_id}", response={200: dict[str, Any]}, summary="Change an article, publish or unpublish it"
)
def update_article(request: HttpRequest, article_id: int, payload: ArticleIn) -> dict[str, Any]:
    require(request, SERVICE_WRITE, "service.change_article")
    article = kb.save_article(
        data=payload.model_dump(exclude_unset=True), actor=actor_for(request), instance=_article(article_id)
    )
    return article_body(article)


# Reports --------------------------------------------------------------------------------------


@router.get(
    "/service/reports",
    response={200: ServiceReportOut},
    summary="Volume, response and resolution times, SLA breaches and CSAT",
)
def report(
    request: HttpRequest, start: str | None = None, end: str | None = None, category: str | None = None
) -> dict[str, Any]:
    require(request, SERVICE_READ, "service.view_service_reports")
    period = reports.parse_period(start, end)
    return {
        **reports.ticket_report(period, category=category),
        "csat": reports.csat_report(period, category=category),
    }
