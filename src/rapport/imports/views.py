"""Console pages of imports: the jobs with the upload form, a job's live progress, its report."""

from __future__ import annotations

import csv
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.audit.services import record_reveal
from rapport.core.errors import DomainError
from rapport.core.requests import console_actor
from rapport.imports import files, presets, services
from rapport.imports.forms import ImportForm, allowed_kinds
from rapport.imports.mapping import ALIASES, FIELDS
from rapport.imports.models import ImportJob

_ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


@login_required
@permission_required("imports.view_importjob", raise_exception=True)
def job_list(request: HttpRequest) -> HttpResponse:
    can_import = bool(allowed_kinds(request.user))
    form = ImportForm(user=request.user, initial={"kind": request.GET.get("kind", "")}) if can_import else None
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
                mode=form.cleaned_data["mode"],
                preset=form.cleaned_data.get("preset") or "",
            )
            messages.success(request, _("The import of %(name)s has started.") % {"name": job.original_name})
            return redirect("imports:detail", pk=job.pk)
    page = Paginator(ImportJob.objects.select_related("created_by"), 30).get_page(request.GET.get("page"))
    fields = {kind: [(f, ", ".join(ALIASES[kind].get(f, [])[:6])) for f in FIELDS[kind]] for kind in FIELDS}
    return render(request, "imports/list.html", {"nav": "imports", "form": form, "page": page, "fields": fields})


def progress_of(job: ImportJob) -> dict[str, object]:
    """A job's state as the console page and the API show it."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "mode": job.mode,
        "file": job.original_name,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "phase": job.phase,
        "phase_label": str(job.get_phase_display()) if job.phase else "",
        "finished": job.status not in _ACTIVE,
        "cancel_requested": job.cancel_requested,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created_rows,
        "updated": job.updated_rows,
        "unchanged": job.unchanged_rows,
        "error_rows": job.error_rows,
        "committed_line": job.committed_line,
        "percent": 100 if job.status == ImportJob.Status.SUCCEEDED else job.percent,
        "error_message": job.error_message,
        "first_errors": job.first_errors or [],
        "report_url": reverse("imports:report", args=[job.pk]) if _has_report(job) else "",
    }


_progress = progress_of


def _has_report(job: ImportJob) -> bool:
    return bool(job.report_path) and job.status not in _ACTIVE and Path(job.report_path).is_file()


def _ignored_columns(job: ImportJob) -> list[tuple[str, str]]:
    """The ignored columns, read from the top of the report, where the import writes them."""
    if not _has_report(job):
        return []
    ignored = []
    with files.open_text(Path(job.report_path), "utf-8-sig") as handle:
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
        "preset_label": dict(presets.choices()).get(job.preset, job.preset),
        "can_download": _may_download(request, job),
        "can_cancel": job.status in _ACTIVE
        and not job.cancel_requested
        and request.user.has_perm("imports.add_importjob"),
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
def job_report(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if not _may_download(request, job):
        raise PermissionDenied
    if not _has_report(job):
        raise Http404("no report")
    record_reveal(console_actor(request), job, fields=["rejected rows report"])
    return report_response(job)


def report_response(job: ImportJob) -> StreamingHttpResponse:
    """The report, decrypted block by block on its way out (it is kept encrypted at rest)."""
    from django.utils.http import content_disposition_header

    name = f"import-{job.pk}-{Path(job.original_name).stem}-rejected.csv"
    response = StreamingHttpResponse(files.plain_chunks(Path(job.report_path)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response


@login_required
@permission_required("imports.add_importjob", raise_exception=True)
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        services.cancel_job(job, actor=console_actor(request))
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
    else:
        messages.success(request, _("The import stops after the rows it is writing now; what is written is kept."))
    return redirect("imports:detail", pk=job.pk)
