"""The console's audit log page: every write and every reveal, filterable."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rapport.audit.models import AuditEntry
from rapport.audit.readable import readable
from rapport.audit.services import filter_entries
from rapport.core.actor import Source
from rapport.core.errors import InvalidInput
from rapport.core.listing import filled_params, page_offset, paginate

PAGE_SIZE = 50


@login_required
@permission_required("audit.view_auditentry", raise_exception=True)
def entry_list(request: HttpRequest) -> HttpResponse:
    params = filled_params(request.GET)
    page, errors = None, []
    try:
        page = paginate(filter_entries(params), limit=PAGE_SIZE, offset=page_offset(params.get("page"), PAGE_SIZE))
    except InvalidInput as exc:
        errors = exc.errors
    object_types = AuditEntry.objects.values_list("object_type", flat=True).distinct().order_by("object_type")
    context = {
        "nav": "audit",
        "page": page,
        "readable": readable(list(page.items)) if page else [],
        "errors": errors,
        "params": params,
        "actions": AuditEntry.Action.choices,
        "sources": Source.CHOICES,
        "object_types": object_types,
    }
    return render(request, "audit/list.html", context)
