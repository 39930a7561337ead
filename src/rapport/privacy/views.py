"""Console pages for data-subject requests: the queue by deadline, and one request's workflow."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError
from rapport.core.listing import page_offset, paginate
from rapport.customers.merge import resolve_customer_id
from rapport.customers.queries import visible_customers
from rapport.privacy import jobs, services
from rapport.privacy.forms import ReceiveForm, RejectForm, VerifyForm
from rapport.privacy.models import (
    IN_PROGRESS_STATUSES,
    OPEN_REQUEST_STATUSES,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
)
from rapport.privacy.retention import RULES, cutoff_for

HANDLE = "privacy.handle_privacy_request"
PAGE_SIZE = 50


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user, source=Source.CONSOLE)


def _visible(request: HttpRequest) -> object:
    return DataSubjectRequest.objects.filter(customer__in=visible_customers(request.user)).select_related(
        "customer", "job"
    )


def _show_errors(request: HttpRequest, exc: DomainError) -> None:
    for error in exc.errors:
        messages.error(request, error.message)


@login_required
@permission_required(HANDLE, raise_exception=True)
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    found = _visible(request).order_by("due_at", "id")  # type: ignore[attr-defined]
    if status == "open":
        found = found.filter(status__in=OPEN_REQUEST_STATUSES)
    elif status in RequestStatus.values:
        found = found.filter(status=status)
    form = ReceiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer_id = resolve_customer_id(form.cleaned_data["customer_id"])
        customer = visible_customers(request.user).filter(pk=customer_id).first() if customer_id else None
        if customer is None:
            form.add_error("customer_id", _("No such customer."))
        else:
            try:
                created = services.receive_request(
                    customer=customer,
                    kind=form.cleaned_data["kind"],
                    source=form.cleaned_data["source"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Request #%(id)s received.") % {"id": created.pk})
                return redirect("privacy:detail", created.pk)
    page = paginate(found, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    context = {
        "nav": "privacy",
        "page": page,
        "status": status,
        "statuses": RequestStatus.choices,
        "form": form,
        "now": timezone.now(),
    }
    return render(request, "privacy/list.html", context)


def _one(request: HttpRequest, request_id: int) -> DataSubjectRequest:
    found = _visible(request).filter(pk=request_id).first()  # type: ignore[attr-defined]
    if found is None:
        raise Http404(_("No such request."))
    return found


@login_required
@permission_required(HANDLE, raise_exception=True)
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = _one(request, request_id)
    context = {
        "nav": "privacy",
        "subject": subject,
        "verify_form": VerifyForm(),
        "reject_form": RejectForm(),
        "archive_url": services.archive_url(subject)
        if subject.kind == RequestKind.ACCESS and subject.has_archive
        else "",
        "preparation": services.preparation(subject) if subject.status in IN_PROGRESS_STATUSES else None,
        "can_retry_jobs": request.user.has_perm(jobs.CHANGE),
        "now": timezone.now(),
    }
    return render(request, "privacy/detail.html", context)


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def verify(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = _one(request, request_id)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(str(e) for e in errors)}")
        return redirect("privacy:detail", subject.pk)
    try:
        services.verify_request(
            subject, method=form.cleaned_data["method"], note=form.cleaned_data["note"], actor=_actor(request)
        )
    except DomainError as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("Verification recorded."))
    return redirect("privacy:detail", subject.pk)


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def reject(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = _one(request, request_id)
    try:
        services.reject_request(subject, reason=request.POST.get("reason", ""), actor=_actor(request))
    except DomainError as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("Request rejected."))
    return redirect("privacy:detail", subject.pk)


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def fulfil(request: HttpRequest, request_id: int) -> HttpResponse:
    subject = _one(request, request_id)
    if subject.kind == RequestKind.ERASURE and request.POST.get("confirm") != "erase":
        messages.error(request, _("Tick the box to confirm: an erasure cannot be undone."))
        return redirect("privacy:detail", subject.pk)
    try:
        done = services.fulfil_request(subject, actor=_actor(request))
    except DomainError as exc:
        _show_errors(request, exc)
    else:
        if done.kind == RequestKind.ERASURE:
            messages.success(
                request, _("The customer's personal data is being erased; this page shows when it is done.")
            )
        else:
            messages.success(request, _("The copy is being prepared; its link appears here when it is ready."))
    return redirect("privacy:detail", subject.pk)


@login_required
@permission_required(HANDLE, raise_exception=True)
def retention(request: HttpRequest) -> HttpResponse:
    """Every retention period in one place, with what is due now (the daily job erases it)."""
    now = timezone.now()
    rules = [(rule, rule.count_due(cutoff_for(rule, now))) for rule in RULES]
    return render(request, "privacy/retention.html", {"nav": "privacy", "rules": rules})
