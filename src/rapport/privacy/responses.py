"""The bodies the privacy API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

from typing import Any

from rapport.core.api import Body


class RequestPage(Body):
    count: int
    limit: int
    offset: int
    results: list[RequestOut]


class RequestOut(Body):
    id: int
    customer_id: int
    kind: str
    status: str
    source: str
    received_at: str
    due_at: str
    overdue: bool
    received_by: str
    verification: dict[str, Any]
    completed_by: str
    completed_at: str | None
    rejection_reason: str
    outcome: dict[str, Any] | None = None
    archive: dict[str, Any] | None = None
    preparation: dict[str, Any] | None = None


class JobOut(Body):
    id: int
    task: str
    kind: str
    args: list[Any]
    status: str
    resumable: bool
    attempts: int
    cancel_requested: bool
    error: str
    created_at: str | None
    started_at: str | None
    heartbeat_at: str | None
    finished_at: str | None


class JobPage(Body):
    count: int
    limit: int
    offset: int
    results: list[JobOut]


RequestPage.model_rebuild()
RequestOut.model_rebuild()
