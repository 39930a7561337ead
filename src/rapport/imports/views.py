"""Console pages of imports: the jobs with the upload form, a job's live progress, its report."""

from __future__ import annotations

import csv
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from rapport.audit.services import record_reveal
from rapport.core.requests import console_actor
from rapport.imports import services
from rapport.imports.forms import ImportForm, allowed_kinds
from rapport.imports.mapping import ALIASES, FIELDS
from rapport.imports.models import ImportJob

_ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


@login_required
@permission_required("imports.view_importjob", raise_exception=True)
def job_list(request: HttpRequest) -> HttpResponse:
    can_import = bool(allowed_kinds(request.user))
    form = ImportForm(user=request.user) if can_import else None
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied
        form = ImportForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            job = services.start_job(
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                channel=form.cleaned_data["channel"],
                mapping=form.cleaned_data["mapping"],
                actor=console_actor(request),
            )
            messages.success(request, _("The import of %(name)s has started.") % {"name": job.original_name})
            return redirect("imports:detail", pk=job.pk)
    page = Paginator(ImportJob.objects.select_related("created_by"), 30).get_page(request.GET.get("page"))
    fields = {kind: [(f, ", ".join(ALIASES[kind].get(f, [])[:6])) for f in FIELDS[kind]] for kind in FIELDS}
    return render(request, "imports/list.html", {"nav": "imports", "form": form, "page": page, "fields": fields})


def _progress(job: ImportJob) -> dict[str, object]:
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "finished": job.status not in _ACTIVE,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created_rows,
        "updated": job.updated_rows,
        "error_rows": job.error_rows,
        "percent": 100 if job.status == ImportJob.Status.SUCCEEDED else job.percent,
        "error_message": job.error_message,
        "report_url": reverse("imports:report", args=[job.pk]) if _has_report(job) else "",
    }


def _has_report(job: ImportJob) -> bool:
    return bool(job.report_path) and job.status not in _ACTIVE and Path(job.report_path).is_file()


def _ignored_columns(job: ImportJob) -> list[tuple[str, str]]:
    """The ignored columns, read from the top of the report, where the import writes them."""
    if not _has_report(job):
        return []
    ignored = []
    with open(job.report_path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("code") != "ignored_column":
                break
            ignored.append((row.get("field") or "", row.get("message") or ""))
    return ignored


@login_required
@permission_required("imports.view_importjob", raise_exception=True)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    context = {
        "nav": "imports",
        "job": job,
        "progress": _progress(job),
        "ignored": _ignored_columns(job),
        "can_download": _may_download(request, job),
    }
    return render(request, "imports/detail.html", context)


@login_required
@permission_required("imports.view_importjob", raise_exception=True)
def job_progress(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    return JsonResponse(_progress(job))


def _may_download(request: HttpRequest, job: ImportJob) -> bool:
    """Rejected rows are the file's own values, personal data included: for the uploader, or
    for someone who may reveal personal data."""
    user = request.user
    return user.is_authenticated and (job.created_by_id == user.pk or user.has_perm("customers.reveal_pii"))


@login_required
@permission_required("imports.view_importjob", raise_exception=True)
def job_report(request: HttpRequest, pk: int) -> FileResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if not _may_download(request, job):
        raise PermissionDenied
    if not _has_report(job):
        raise Http404("no report")
    record_reveal(console_actor(request), job, fields=["rejected rows report"])
    name = f"import-{job.pk}-{Path(job.original_name).stem}-rejected.csv"
    return FileResponse(
        open(job.report_path, "rb"),
        as_attachment=True,
        filename=name,
        content_type="text/csv; charset=utf-8",
    )
