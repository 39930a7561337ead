"""The bodies the tags API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class TagsCategoryOut(Body):
    id: int
    name: str
    description: str
    position: int
    tag_count: int | None


class TagPage(Body):
    count: int
    limit: int
    offset: int
    results: list[TagOut]


class TagOut(Body):
    id: int
    category: dict[str, Any]
    name: str
    type: str
    description: str
    colour: str
    store: Any
    rule: dict[str, Any] | None
    is_active: bool
    holder_count: int | None
    last_evaluated_at: Any
    created_at: dt.datetime
    updated_at: dt.datetime


class EvaluateOut(Body):
    tag_id: int
    added: int
    removed: int


class BatchOut(Body):
    id: int
    tag_id: int
    kind: str
    action: str
    matched: int
    changed: int
    unknown: list[BatchUnknownItem]
    created_at: dt.datetime


class TagsPreviewOut(Body):
    count: int


class AddCustomerTagsOut(Body):
    added: list[int]
    tags: list[AddCustomerTagsTagsItem]


class HistoryPage(Body):
    count: int
    limit: int
    offset: int
    results: list[HistoryOut]


class ListTemplatesOutItem(Body):
    key: str
    name: str
    description: str
    builtin: bool
    definition: dict[str, Any]


class ApplyTemplateOut(Body):
    categories_created: int
    tags_created: int
    tags_existing: int


class EndpointOut(Body):
    id: int
    name: str
    adapter: str
    url: str
    tags: list[Any]
    max_attempts: int
    is_active: bool


class CreateEndpointOut(Body):
    id: int
    name: str
    adapter: str
    url: str
    tags: list[Any]
    max_attempts: int
    is_active: bool
    secret: str


class DeliveryPage(Body):
    count: int
    limit: int
    offset: int
    results: list[DeliveryOut]


class RetryOneOut(Body):
    retried: int


class RetryAllOut(Body):
    retried: int


class BatchUnknownItem(Body):
    line: int
    value: str
    code: str
    message: str


class AddCustomerTagsTagsItem(Body):
    tag: dict[str, Any]
    added_at: dt.datetime
    added_by: str
    source: str


class HistoryOut(Body):
    id: int
    customer_id: int
    tag: dict[str, Any]
    action: str
    actor: str
    source: str
    reference: str
    batch_id: Any
    at: dt.datetime


class DeliveryOut(Body):
    id: int
    event_id: str
    endpoint_id: int
    status: str
    attempts: int
    last_error: str
    last_status_code: Any
    payload: dict[str, Any]
    created_at: dt.datetime
    next_attempt_at: dt.datetime


TagsCategoryOut.model_rebuild()
TagPage.model_rebuild()
TagOut.model_rebuild()
EvaluateOut.model_rebuild()
BatchOut.model_rebuild()
TagsPreviewOut.model_rebuild()
AddCustomerTagsOut.model_rebuild()
HistoryPage.model_rebuild()
ListTemplatesOutItem.model_rebuild()
ApplyTemplateOut.model_rebuild()
EndpointOut.model_rebuild()
CreateEndpointOut.model_rebuild()
DeliveryPage.model_rebuild()
RetryOneOut.model_rebuild()
RetryAllOut.model_rebuild()
BatchUnknownItem.model_rebuild()
AddCustomerTagsTagsItem.model_rebuild()
HistoryOut.model_rebuild()
DeliveryOut.model_rebuild()
