"""``/api/v1/audit``: the audit log, read-only, for auditors and integrations."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rapport.accounts.scopes import AUDIT_READ
from rapport.audit.models import AuditEntry
from rapport.audit.responses import AuditEntryPage
from rapport.audit.services import filter_entries
from rapport.core.api import require
from rapport.core.listing import page_body, paginate

router = Router(tags=["audit"], exclude_unset=True)


def entry_body(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "created_at": entry.created_at,
        "actor": entry.actor_label,
        "source": entry.source,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
    }


@router.get("/audit", response={200: AuditEntryPage}, summary="Audit entries, newest first")
def list_entries(
    request: HttpRequest,
    actor: str = "",
    action: str = "",
    source: str = "",
    object_type: str = "",
    object_id: str = "",
    since: str = "",
    until: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, AUDIT_READ, "audit.view_auditentry")
    params = {
        "actor": actor,
        "action": action,
        "source": source,
        "object_type": object_type,
        "object_id": object_id,
        "since": since,
        "until": until,
    }
    page = paginate(filter_entries(params), limit=limit, offset=offset)
    return page_body(page, [entry_body(e) for e in page.items])
