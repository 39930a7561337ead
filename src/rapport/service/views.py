"""Console pages for customer service: the ticket inbox with its views, the ticket page with the
customer's 360° summary beside it, opening a ticket by hand, the knowledge-base editor, canned
replies, service reports and the complaint / after-sales analysis, and the public survey page.

Views only translate between HTTP and the services.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, FieldError
from rapport.core.listing import page_offset, paginate
from rapport.core.requests import console_actor, error_text
from rapport.customers import queries as customer_queries
from rapport.loyalty.models import CouponTemplate
from rapport.service import csat, goodwill, kb, queries, reports, services
from rapport.service.assignment import agents
from rapport.service.attachments import uploaded_files
from rapport.service.event_words import describe as describe_event
from rapport.service.models import (
    AgentProfile,
    Article,
    ArticleCategory,
    Attachment,
    CannedReply,
    Category,
    InboundMail,
    Language,
    MessageKind,
    Priority,
    Status,
    Ticket,
)
from rapport.service.search import search_articles, suggest_for_ticket
from rapport.service.summary import customer_summary

PAGE_SIZE = 50
VIEWS = [
    ("mine", gettext_lazy("Mine")),
    ("unassigned", gettext_lazy("Unassigned")),
    ("breaching", gettext_lazy("Breaching soon")),
    ("open", gettext_lazy("All open")),
    ("all", gettext_lazy("Everything")),
]


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (the login_required views' user)."""
    assert isinstance(request.user, User)
    return request.user


def _visible_tickets(request: HttpRequest) -> Any:
    return Ticket.objects.filter(customer_id__in=customer_queries.visible_customers(request.user).values("pk"))


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    ticket = _visible_tickets(request).select_related("customer", "store", "assignee", "order").filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("No such ticket, or not one of yours."))
    return ticket


# Inbox ------------------------------------------------------------------------------------------


@login_required
@permission_required("service.view_ticket", raise_exception=True)
def inbox(request: HttpRequest) -> HttpResponse:
    default = "mine" if AgentProfile.objects.filter(user=_staff(request)).exists() else "open"
    view = request.GET.get("view") or default
    if view not in dict(VIEWS):
        view = default
    visible = customer_queries.visible_customers(request.user).values("pk")
    tickets = services.inbox(view, user=request.user).filter(customer_id__in=visible)
    category = request.GET.get("category") or ""
    if category in Category.values:
        tickets = tickets.filter(category=category)
    query = (request.GET.get("q") or "").strip()
    if query:
        number = query.upper().removeprefix("T-")
        tickets = tickets.filter(queries.subject_matches(query) | Q(pk=int(number) if number.isdigit() else 0))
    counts = {key: services.inbox(key, user=request.user).filter(customer_id__in=visible).count() for key, _l in VIEWS}
    page = paginate(tickets, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    profile = AgentProfile.objects.filter(user=_staff(request)).first()
    context = {
        "nav": "service",
        "views": [(key, label, counts[key]) for key, label in VIEWS],
        "view": view,
        "page": page,
        "categories": Category.choices,
        "category": category,
        "q": query,
        "profile": profile,
    }
    return render(request, "service/inbox.html", context)


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def availability(request: HttpRequest) -> HttpResponse:
    profile = AgentProfile.objects.filter(user=_staff(request)).first()
    services.set_agent(
        _staff(request),
        is_available=request.POST.get("available") == "1",
        is_lead=profile.is_lead if profile else False,
        actor=console_actor(request),
    )
    return redirect("service:inbox")


# Opening a ticket by hand ---------------------------------------------------------------------


@login_required
@permission_required("service.add_ticket", raise_exception=True)
def ticket_create(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    customer = None
    if (source.get("customer") or "").isdigit():
        customer = customer_queries.visible_customers(request.user).filter(pk=int(source["customer"])).first()
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            options: dict[str, Any] = {
                "channel": "console",
                "subject": request.POST.get("subject"),
                "body": request.POST.get("body"),
                "category": request.POST.get("category"),
                "priority": request.POST.get("priority"),
                "order": request.POST.get("order") or None,
                "files": uploaded_files(request),
                "actor": console_actor(request),
            }
            if customer is None:
                ticket = services.open_ticket_for_contact(
                    email=request.POST.get("email", "").strip(),
                    phone=request.POST.get("phone", "").strip(),
                    name=request.POST.get("name", "").strip(),
                    **options,
                )
            else:
                ticket = services.open_ticket(customer=customer, **options)
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return redirect("service:ticket", pk=ticket.pk)
        except DomainError as exc:
            errors = exc.errors
    context = {
        "nav": "service",
        "customer": customer,
        "errors": errors,
        "data": source,
        "categories": Category.choices,
        "priorities": Priority.choices,
    }
    return render(request, "service/ticket_new.html", context, status=422 if errors else 200)


# The ticket page ----------------------------------------------------------------------------------


@login_required
@permission_required("service.view_ticket", raise_exception=True)
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _ticket_page(request, _ticket(request, pk))


@login_required
@require_POST
@permission_required(["service.view_ticket", "customers.reveal_pii"], raise_exception=True)
def ticket_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The page with the addresses replies went to in plaintext, in this response only; audited."""
    ticket = _ticket(request, pk)
    return _ticket_page(
        request, ticket, revealed=bool(services.reveal_delivery_addresses(ticket, actor=console_actor(request)))
    )


def _ticket_page(request: HttpRequest, ticket: Ticket, *, revealed: bool = False) -> HttpResponse:
    thread = list(ticket.messages.select_related("author").prefetch_related("attachments"))
    for message in thread:
        message.delivery_note = services.delivery_note(message, revealed=revealed)  # type: ignore[attr-defined]
    first = next((m for m in thread if m.kind in (MessageKind.CUSTOMER, MessageKind.BOT)), None)
    canned = CannedReply.objects.filter(Q(category="") | Q(category=ticket.category))
    canned_texts = {c.pk: services.render_canned(c, ticket, agent=request.user) for c in canned}
    others = _visible_tickets(request).filter(customer=ticket.customer, merged_into__isnull=True).exclude(pk=ticket.pk)
    context = {
        "nav": "service",
        "ticket": ticket,
        "thread": thread,
        "events": [(event, *describe_event(event)) for event in ticket.events.all()],
        "summary": customer_summary(ticket.customer, exclude_ticket=ticket),
        "suggested": suggest_for_ticket(ticket.subject, first.body if first else ""),
        "canned": [(c, canned_texts[c.pk]) for c in canned],
        "agents": agents(),
        "statuses": [(s, label) for s, label in Status.choices if s != Status.NEW],
        "categories": Category.choices,
        "priorities": Priority.choices,
        "merge_candidates": others.filter(status__in=[Status.NEW, Status.OPEN, Status.PENDING]),
        "survey": getattr(ticket, "survey", None),
        "goodwill_key": uuid.uuid4().hex,
        "goodwill_templates": goodwill.goodwill_templates(),
        "revealed": revealed,
        "can_reveal": not revealed and any(m.delivery_address for m in thread),
    }
    return render(request, "service/ticket.html", context)


def _work(request: HttpRequest, pk: int, action: Any, success: str) -> HttpResponse:
    ticket = _ticket(request, pk)
    try:
        action(ticket)
        messages.success(request, success)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("service:ticket", pk=ticket.pk)


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    def send(ticket: Ticket) -> None:
        message = services.reply(
            ticket,
            body=request.POST.get("body"),
            then=request.POST.get("then") or Status.PENDING,
            files=uploaded_files(request),
            actor=console_actor(request),
        )
        message.refresh_from_db()
        if message.delivery == message.Delivery.FAILED:
            messages.warning(request, _("Saved, but not delivered: %(detail)s") % {"detail": message.delivery_detail})

    return _work(request, pk, send, _("Reply sent."))


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def ticket_note(request: HttpRequest, pk: int) -> HttpResponse:
    return _work(
        request,
        pk,
        lambda t: services.add_note(
            t, body=request.POST.get("body"), files=uploaded_files(request), actor=console_actor(request)
        ),
        _("Note added."),
    )


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    return _work(
        request,
        pk,
        lambda t: services.change_status(t, status=request.POST.get("status"), actor=console_actor(request)),
        _("Status changed."),
    )


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    username = request.POST.get("assignee") or ""
    assignee = get_user_model().objects.filter(username=username).first() if username else None
    return _work(
        request,
        pk,
        lambda t: services.assign(t, assignee=assignee, actor=console_actor(request)),
        _("Assignment changed."),
    )


@login_required
@require_POST
@permission_required("service.work_ticket", raise_exception=True)
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    data = {k: request.POST[k] for k in ("category", "priority", "order") if k in request.POST}
    if "order" in data and not data["order"]:
        data["order"] = None  # type: ignore[assignment]
    return _work(request, pk, lambda t: services.update_ticket(t, data=data, actor=console_actor(request)), _("Saved."))


@login_required
@require_POST
@permission_required("service.merge_ticket", raise_exception=True)
def ticket_merge(request: HttpRequest, pk: int) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("duplicates") if v.isdigit()]
    duplicates = list(_visible_tickets(request).filter(pk__in=ids))
    return _work(
        request,
        pk,
        lambda t: services.merge_tickets(t, duplicates, actor=console_actor(request)),
        _("Merged %(count)s tickets into this one.") % {"count": len(duplicates)},
    )


@login_required
@require_POST
@permission_required("service.give_goodwill", raise_exception=True)
def ticket_goodwill(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    key = request.POST.get("key") or uuid.uuid4().hex
    reason = request.POST.get("reason")
    if kind == "points":
        return _work(
            request,
            pk,
            lambda t: goodwill.give_points(
                t, points=request.POST.get("points"), reason=reason, key=key, actor=console_actor(request)
            ),
            _("Points given."),
        )
    template = CouponTemplate.objects.filter(pk=request.POST.get("template") or 0, is_active=True).first()
    if template is None:
        messages.error(request, _("Choose a coupon."))
        return redirect("service:ticket", pk=pk)
    return _work(
        request,
        pk,
        lambda t: goodwill.give_coupon(t, template=template, reason=reason, key=key, actor=console_actor(request)),
        _("Coupon given."),
    )


@login_required
@permission_required("service.view_ticket", raise_exception=True)
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
    _ticket(request, found.message.ticket_id)  # the ticket must be visible to this user
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    as_attachment = not found.content_type.startswith("image/")
    response["Content-Disposition"] = content_disposition_header(as_attachment, found.file_name) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Knowledge base ---------------------------------------------------------------------------------


@login_required
@permission_required("service.view_article", raise_exception=True)
def kb_list(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    if request.method == "POST":
        if not request.user.has_perm("service.add_articlecategory"):
            raise PermissionDenied
        try:
            kb.save_category(name=request.POST.get("name"), position=0, actor=console_actor(request))
            messages.success(request, _("Category added."))
        except DomainError as exc:
            messages.error(request, error_text(exc))
        return redirect("service:kb")
    results = search_articles(query, limit=20) if query else None
    categories = ArticleCategory.objects.annotate(n=Count("articles")).prefetch_related("articles")
    context = {"nav": "service", "q": query, "results": results, "categories": categories}
    return render(request, "service/kb_list.html", context)


@login_required
@permission_required("service.view_article", raise_exception=True)
def kb_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk) if pk is not None else None
    errors: list[FieldError] = []
    data: dict[str, Any] = {}
    if request.method == "POST":
        if not request.user.has_perm("service.change_article" if article else "service.add_article"):
            raise PermissionDenied
        data = {k: request.POST.get(k, "") for k in ("title", "body", "keywords", "language", "state")}
        category = request.POST.get("category", "")
        data["category"] = int(category) if category.isdigit() else category
        try:
            saved = kb.save_article(data=data, actor=console_actor(request), instance=article)
            messages.success(request, _("Article saved."))
            return redirect("service:kb_edit", pk=saved.pk)
        except DomainError as exc:
            errors = exc.errors
    context = {
        "nav": "service",
        "article": article,
        "data": data,
        "errors": errors,
        "categories": ArticleCategory.objects.all(),
        "article_languages": Language.choices,
        "states": Article.State.choices,
    }
    return render(request, "service/kb_edit.html", context, status=422 if errors else 200)


# Canned replies ---------------------------------------------------------------------------------


@login_required
@permission_required("service.view_cannedreply", raise_exception=True)
def canned_list(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    editing = get_object_or_404(CannedReply, pk=pk) if pk is not None else None
    errors: list[FieldError] = []
    if request.method == "POST":
        if not request.user.has_perm("service.change_cannedreply" if editing else "service.add_cannedreply"):
            raise PermissionDenied
        data = {k: request.POST.get(k, "") for k in ("title", "body", "category")}
        try:
            services.save_canned_reply(data=data, actor=console_actor(request), instance=editing)
            messages.success(request, _("Canned reply saved."))
            return redirect("service:canned")
        except DomainError as exc:
            errors = exc.errors
    context = {
        "nav": "service",
        "replies": CannedReply.objects.all(),
        "editing": editing,
        "errors": errors,
        "data": request.POST if request.method == "POST" else None,
        "variables": services.VARIABLES,
        "categories": Category.choices,
    }
    return render(request, "service/canned.html", context, status=422 if errors else 200)


# Reports ------------------------------------------------------------------------------------------

ANALYSES = {
    "": gettext_lazy("All tickets"),
    Category.COMPLAINT: gettext_lazy("Complaint analysis (投诉)"),
    Category.AFTER_SALES: gettext_lazy("After-sales analysis (售后)"),
}


@login_required
@permission_required("service.view_service_reports", raise_exception=True)
def report(request: HttpRequest, category: str = "") -> HttpResponse:
    if category not in ANALYSES:
        raise Http404
    errors: list[FieldError] = []
    try:
        period = reports.parse_period(request.GET.get("start"), request.GET.get("end"))
    except DomainError as exc:
        errors = exc.errors
        period = reports.parse_period(None, None)
    figures = reports.ticket_report(period, category=category or None)
    satisfaction = reports.csat_report(period, category=category or None)
    context = {
        "nav": "service",
        "analysis": category,
        "analyses": [(key, label) for key, label in ANALYSES.items()],
        "title": ANALYSES[category],
        "period": period,
        "errors": errors,
        "report": figures,
        "csat": satisfaction,
        "charts": reports.figures(figures, satisfaction),
    }
    return render(request, "service/report.html", context)


@login_required
@permission_required("service.view_ticket", raise_exception=True)
def inbound_mail(request: HttpRequest) -> HttpResponse:
    mails = InboundMail.objects.select_related("ticket").defer("raw")
    if request.GET.get("outcome") in InboundMail.Outcome.values:
        mails = mails.filter(outcome=request.GET["outcome"])
    page = paginate(mails, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    return render(request, "service/mail.html", {"nav": "service", "page": page})


# The survey (public, signed link) -----------------------------------------------------------------


def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = csat.survey_from_token(token)
    except DomainError as exc:
        return render(request, "service/survey.html", {"error": error_text(exc)}, status=404)
    error = ""
    if request.method == "POST":
        try:
            found = csat.answer_survey(found, score=request.POST.get("score"), comment=request.POST.get("comment", ""))
        except DomainError as exc:
            error = error_text(exc)
    context = {"survey": found, "ticket": found.ticket, "error": error, "scores": range(1, 6)}
    return render(request, "service/survey.html", context, status=422 if error else 200)
