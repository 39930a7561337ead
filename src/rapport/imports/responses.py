"""The bodies the imports API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

from rapport.core.api import Body


class ImportJobOut(Body):
    """An import job: what it reads, where it is, what it has written (start and status alike)."""

    id: int
    kind: str
    mode: str
    file: str
    status: str
    status_label: str
    phase: str
    phase_label: str
    finished: bool
    cancel_requested: bool
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    error_rows: int
    committed_line: int
    percent: int | float
    error_message: str


class ImportErrorsOut(Body):
    rejected_rows: int
    complete: bool
    items: list[ImportErrorsItemsItem]


class CancelImportOut(ImportJobOut):
    """Cancelling answers with the job as it stands (cancel requested, or cancelled if it had not
    started): the same fields, under the operation's own schema name."""


class ImportErrorsItemsItem(Body):
    line: int
    field: str
    code: str
    message: str


ImportJobOut.model_rebuild()
ImportErrorsOut.model_rebuild()
CancelImportOut.model_rebuild()
ImportErrorsItemsItem.model_rebuild()
