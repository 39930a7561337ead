"""The bodies the audit API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class AuditEntryPage(Body):
    count: int
    limit: int
    offset: int
    results: list[AuditEntryOut]


class AuditEntryOut(Body):
    id: int
    created_at: dt.datetime
    actor: str
    source: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]


AuditEntryPage.model_rebuild()
AuditEntryOut.model_rebuild()
