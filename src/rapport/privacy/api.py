"""``/api/v1/privacy/requests``: data-subject requests for the shop's systems and staff tools.

The archive itself is never served here: only the verified requester fetches it, signed in to
the member portal, through the link a fulfilled access request answers with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Router, Status

from rapport.accounts.scopes import JOBS, PRIVACY
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.core.listing import page_body, paginate
from rapport.customers.merge import resolve_customer_id
from rapport.customers.queries import visible_customers
from rapport.privacy import jobs, services
from rapport.privacy.models import IN_PROGRESS_STATUSES, DataSubjectRequest, RequestKind, RequestStatus
from rapport.privacy.responses import JobOut, JobPage, RequestOut, RequestPage

router = Router(tags=["privacy"], exclude_unset=True)
HANDLE = "privacy.handle_privacy_request"


class RequestIn(Strict):
    customer_id: int
    kind: str
    source: str
    received_at: str | None = None


class VerifyIn(Strict):
    method: str
    note: str


class RejectIn(Strict):
    reason: str


def request_body(request: DataSubjectRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": request.pk,
        "customer_id": request.customer_id,
        "kind": request.kind,
        "status": request.status,
        "source": request.source,
        "received_at": request.received_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "overdue": request.is_open and request.due_at < dt.datetime.now(dt.UTC),
        "received_by": request.received_by_label,
        "verification": {
            "method": request.verification_method,
            "note": request.verification_note,
            "by": request.verified_by_label,
            "at": request.verified_at.isoformat() if request.verified_at else None,
        },
        "completed_by": request.completed_by_label,
        "completed_at": request.completed_at.isoformat() if request.completed_at else None,
        "rejection_reason": request.rejection_reason,
    }
    if request.kind == RequestKind.ACCESS and request.archive_expires_at:
        body["archive"] = {
            "url": services.archive_url(request) if request.has_archive else None,
            "expires_at": request.archive_expires_at.isoformat(),
            "downloaded_at": request.archive_downloaded_at.isoformat() if request.archive_downloaded_at else None,
        }
    if request.status in IN_PROGRESS_STATUSES:
        body["preparation"] = services.preparation(request)
    if request.kind == RequestKind.ERASURE and request.status == RequestStatus.COMPLETED:
        body["outcome"] = request.outcome
    return body


def _visible_requests(request: HttpRequest) -> Any:
    return DataSubjectRequest.objects.filter(customer__in=visible_customers(request.user)).select_related("job")


def _request(request: HttpRequest, request_id: int) -> DataSubjectRequest:
    found = _visible_requests(request).filter(pk=request_id, customer__in=visible_customers(request.user)).first()
    if found is None:
        raise NotFound.single("request_id", "not_found", _("No such request."))
    return found


@router.get(
    "/privacy/requests", response={200: RequestPage}, summary="List data-subject requests, open ones by deadline"
)
def list_requests(
    request: HttpRequest,
    status: str = "",
    kind: str = "",
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, PRIVACY, HANDLE)
    found = _visible_requests(request).order_by("due_at", "id")
    if status:
        if status not in RequestStatus.values:
            raise InvalidInput.single("status", "invalid", f"one of: {', '.join(RequestStatus.values)}")
        found = found.filter(status=status)
    if kind:
        if kind not in RequestKind.values:
            raise InvalidInput.single("kind", "invalid", f"one of: {', '.join(RequestKind.values)}")
        found = found.filter(kind=kind)
    if customer_id is not None:
        found = found.filter(customer_id=customer_id)
    page = paginate(found, limit=limit, offset=offset)
    return page_body(page, [request_body(r) for r in page.items])


@router.post("/privacy/requests", response={201: RequestOut}, summary="Receive a request for a copy or for erasure")
def receive(request: HttpRequest, payload: RequestIn) -> Status[dict[str, Any]]:
    require(request, PRIVACY, HANDLE)
    customer_id = resolve_customer_id(payload.customer_id)  # a merged-away id names its survivor
    customer = visible_customers(request.user).filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise NotFound.single("customer_id", "not_found", _("No such customer."))
    received_at = None
    if payload.received_at:
        received_at = parse_datetime(payload.received_at)
        if received_at is None or received_at.tzinfo is None:
            raise InvalidInput(
                FieldError("received_at", "invalid", _("Give a date and time with its UTC offset (ISO 8601)."))
            )
    created = services.receive_request(
        customer=customer, kind=payload.kind, source=payload.source, actor=actor_for(request), received_at=received_at
    )
    return Status(201, request_body(created))


@router.get("/privacy/requests/{request_id}", response={200: dict[str, Any]}, summary="One data-subject request")
def get_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    require(request, PRIVACY, HANDLE)
    return request_body(_request(request, request_id))


@router.post(
    "/privacy/requests/{request_id}/verify",
    response={200: RequestOut},
    summary="Record who checked the requester, how, and what",
)
def verify(request: HttpRequest, request_id: int, payload: VerifyIn) -> dict[str, Any]:
    require(request, PRIVACY, HANDLE)
    done = services.verify_request(
        _request(request, request_id), method=payload.method, note=payload.note, actor=actor_for(request)
    )
    return request_body(done)


@router.post(
    "/privacy/requests/{request_id}/reject", response={200: dict[str, Any]}, summary="Refuse a request, with the reason"
)
def reject(request: HttpRequest, request_id: int, payload: RejectIn) -> dict[str, Any]:
    require(request, PRIVACY, HANDLE)
    return request_body(
        services.reject_request(_request(request, request_id), reason=payload.reason, actor=actor_for(request))
    )


@router.post(
    "/privacy/requests/{request_id}/fulfil",
    response={202: RequestOut},
    summary="Start erasing, or building the copy (202: a job; follow it on the request)",
    description=(
        "The request becomes `erasing` or `preparing` and a background job fulfils it; its progress "
        "is under `preparation` until the request is `completed` (erasure: with its `outcome`; "
        "access: with the `archive` link). A failed job shows there too: retry it through "
        "`POST /api/v1/jobs/{job_id}/retry`."
    ),
)
def fulfil(request: HttpRequest, request_id: int) -> Status[dict[str, Any]]:
    require(request, PRIVACY, HANDLE)
    done = services.fulfil_request(_request(request, request_id), actor=actor_for(request))
    return Status(202, request_body(done))


@router.get(
    "/jobs",
    response={200: JobPage},
    summary="List long background jobs, newest first (status: open for those that may need a person)",
)
def list_jobs(request: HttpRequest, status: str = "", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, JOBS, jobs.VIEW)
    page = paginate(jobs.listed(status), limit=limit, offset=offset)
    return page_body(page, [jobs.body(job) for job in page.items])


@router.get("/jobs/{job_id}", response={200: JobOut}, summary="One background job")
def get_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, JOBS, jobs.VIEW)
    return jobs.body(jobs.get(job_id))


@router.post("/jobs/{job_id}/retry", response={200: JobOut}, summary="Queue a failed, stalled or cancelled job again")
def retry_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, JOBS, jobs.VIEW, jobs.CHANGE)
    return jobs.body(jobs.retry(jobs.get(job_id), actor=actor_for(request)))


@router.post(
    "/jobs/{job_id}/cancel", response={200: JobOut}, summary="Cancel a queued or stalled job; ask a running one to stop"
)
def cancel_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, JOBS, jobs.VIEW, jobs.CHANGE)
    return jobs.body(jobs.cancel(jobs.get(job_id), actor=actor_for(request)))
