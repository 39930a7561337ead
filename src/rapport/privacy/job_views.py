"""Console page of long background jobs: what runs, what stalled, and retry or cancel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import jobs as jobs_kernel
from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError
from rapport.core.listing import page_offset, paginate
from rapport.core.models import JobStatus
from rapport.privacy import jobs

PAGE_SIZE = 50


@login_required
@permission_required(jobs.VIEW, raise_exception=True)
def job_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", jobs.OPEN)
    try:
        found = jobs.listed("" if status == "all" else status)
    except DomainError:
        status, found = jobs.OPEN, jobs.listed(jobs.OPEN)
    page = paginate(found, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    for job in page.items:
        job.kind = jobs_kernel.kind_label(job.task)  # type: ignore[attr-defined]
    context = {
        "nav": "privacy",
        "page": page,
        "status": status,
        "statuses": JobStatus.choices,
        "retryable": {JobStatus.FAILED, JobStatus.STALLED, JobStatus.CANCELLED},
        "cancellable": {JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.STALLED},
        "can_change": request.user.has_perm(jobs.CHANGE),
    }
    return render(request, "privacy/jobs.html", context)


def _act(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    actor = Actor(user=request.user, source=Source.CONSOLE)
    try:
        job = jobs.get(job_id)
        done = jobs.retry(job, actor=actor) if action == "retry" else jobs.cancel(job, actor=actor)
    except DomainError as exc:
        for error in exc.errors:
            messages.error(request, error.message)
    else:
        text = _("Job #%(id)s is queued again.") if action == "retry" else _("Job #%(id)s: %(status)s.")
        messages.success(request, text % {"id": done.pk, "status": done.get_status_display()})
    back = request.POST.get("next", "")  # the page the button was on (a request's copy being prepared)
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("privacy:jobs")


@login_required
@permission_required(jobs.CHANGE, raise_exception=True)
@require_POST
def retry(request: HttpRequest, job_id: int) -> HttpResponse:
    return _act(request, job_id, "retry")


@login_required
@permission_required(jobs.CHANGE, raise_exception=True)
@require_POST
def cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    return _act(request, job_id, "cancel")
