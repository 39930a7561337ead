"""``/api/v1/imports``: start an import job with a file, follow its progress, read its errors, cancel.

The same job record and engine as the console upload and ``rapport import``. The file is kept
encrypted until the job ends. Error messages can quote the file's own values (personal data),
so the errors are for the uploader or for someone who may reveal personal data, as in the console.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status
from ninja.files import UploadedFile
from ninja.params.functions import File, Form

from rapport.accounts.scopes import (
    COMMERCE_READ,
    COMMERCE_WRITE,
    CUSTOMERS_READ,
    CUSTOMERS_WRITE,
    IMPORTS,
    INVENTORY_READ,
    INVENTORY_WRITE,
    LOYALTY_READ,
    LOYALTY_WRITE,
)
from rapport.core.api import actor_for, require
from rapport.core.errors import FieldError, InvalidInput, NotFound, PermissionDeniedError
from rapport.core.listing import check_window
from rapport.imports import files, services
from rapport.imports.forms import KIND_PERMISSIONS, file_problem, kind_problems
from rapport.imports.mapping import parse_mapping
from rapport.imports.models import ImportJob
from rapport.imports.readers import UnusableFile
from rapport.imports.responses import CancelImportOut, ImportErrorsOut, ImportJobOut
from rapport.imports.views import progress_of

router = Router(tags=["imports"], exclude_unset=True)

_WRITE_SCOPE = {
    "customers": CUSTOMERS_WRITE,
    "orders": COMMERCE_WRITE,
    "products": COMMERCE_WRITE,
    "refunds": COMMERCE_WRITE,
    "loyalty": LOYALTY_WRITE,
    "events": CUSTOMERS_WRITE,
    "stock": INVENTORY_WRITE,
}
_READ_SCOPE = {
    "customers": CUSTOMERS_READ,
    "orders": COMMERCE_READ,
    "products": COMMERCE_READ,
    "refunds": COMMERCE_READ,
    "loyalty": LOYALTY_READ,
    "events": CUSTOMERS_READ,
    "stock": INVENTORY_READ,
}


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound.single("job_id", "not_found", f"no import job #{job_id}")
    require(request, _READ_SCOPE[job.kind], "imports.view_importjob")
    return job


def _body(job: ImportJob) -> dict[str, Any]:
    body = progress_of(job)
    body.pop("report_url", None)
    body.pop("first_errors", None)
    return body


@router.post(
    "/imports", response={202: ImportJobOut}, summary="Start an import job with a CSV, xlsx or JSON Lines file"
)
def start_import(
    request: HttpRequest,
    kind: str = Form(
        ..., description="customers, orders, products, refunds, loyalty (opening balances), events or stock (levels)"
    ),
    file: UploadedFile = File(..., description="CSV (UTF-8, GB18030, UTF-16) or xlsx; events: JSON Lines"),  # noqa: B008
    channel: str = Form("import", description="the shop or system the ids in the file belong to (events: the source)"),
    mode: str = Form("history", description="history (past orders: no messages, points, journeys) or live"),
    mapping: str = Form("", description="COLUMN=FIELD pairs, one a line or comma-separated; FIELD - ignores"),
    preset: str = Form("", description="the export the file comes from: taobao, jd, youzan, shopify, woocommerce"),
) -> Status[dict[str, Any]]:
    require(request, IMPORTS, "imports.add_importjob")
    if kind not in _WRITE_SCOPE:
        raise InvalidInput.single("kind", "invalid", f"one of: {', '.join(_WRITE_SCOPE)}")
    require(request, _WRITE_SCOPE[kind], "imports.add_importjob", *KIND_PERMISSIONS[ImportJob.Kind(kind)])
    errors = []
    if mode not in services.MODES:
        errors.append(FieldError("mode", "invalid", f"one of: {', '.join(services.MODES)}"))
    channel = (channel or "").strip()
    if not channel or len(channel) > 40:
        errors.append(FieldError("channel", "invalid", "a channel name of 1 to 40 characters"))
    errors.extend(FieldError(name, "invalid", message) for name, message in kind_problems(kind, mode, channel, preset))
    if problem := file_problem(kind, file.name or ""):
        errors.append(FieldError("file", "invalid", problem))
    elif (file.size or 0) > settings.RAPPORT_IMPORT_MAX_BYTES:
        errors.append(FieldError("file", "too_large", f"at most {settings.RAPPORT_IMPORT_MAX_BYTES} bytes"))
    try:
        columns = parse_mapping(mapping.splitlines())
    except UnusableFile as exc:
        errors.append(FieldError("mapping", "invalid", str(exc)))
        columns = {}
    if errors:
        raise InvalidInput(errors)
    job = services.start_job(
        kind=kind,
        upload=file,
        channel=channel,
        mapping=columns,
        actor=actor_for(request),
        mode=mode,
        preset=preset,
    )
    job.refresh_from_db()
    return Status(202, _body(job))


@router.get("/imports/{job_id}", response={200: ImportJobOut}, summary="An import job's status and counts")
def import_status(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, IMPORTS, "imports.view_importjob")
    return _body(_job(request, job_id))


@router.get(
    "/imports/{job_id}/errors",
    response={200: ImportErrorsOut},
    summary="The rejected rows of a job: line, field, code, reason",
)
def import_errors(request: HttpRequest, job_id: int, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    require(request, IMPORTS, "imports.view_importjob")
    job = _job(request, job_id)
    user = request.user
    if not (job.created_by_id == user.pk or user.has_perm("customers.reveal_pii")):
        raise PermissionDeniedError.single(
            "job_id", "forbidden", "the errors quote the file's personal data: for the uploader or a revealer"
        )
    check_window(limit=limit, offset=offset, max_limit=1000)
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) or not job.report_path:
        return {"rejected_rows": job.error_rows, "complete": False, "items": job.first_errors or []}
    path = Path(job.report_path)
    if not path.is_file():
        raise NotFound.single("job_id", "report_expired", "the report was deleted after its keeping period")
    with files.open_text(path, "utf-8-sig") as handle:
        rows = (r for r in csv.DictReader(handle) if r.get("code") != "ignored_column")
        items = [
            {"line": int(r["line"]), "field": r["field"], "code": r["code"], "message": r["message"]}
            for r in itertools.islice(rows, offset, offset + limit)
        ]
    return {"rejected_rows": job.error_rows, "complete": True, "items": items}


@router.post(
    "/imports/{job_id}/cancel",
    response={200: CancelImportOut},
    summary="Stop a job after its current chunk; committed rows stay",
)
def cancel_import(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, IMPORTS, "imports.add_importjob")
    job = _job(request, job_id)
    require(request, _WRITE_SCOPE[job.kind], "imports.add_importjob")
    return _body(services.cancel_job(job, actor=actor_for(request)))
