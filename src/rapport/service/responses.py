"""The bodies the service API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class TicketPage(Body):
    count: int
    limit: int
    offset: int
    results: list[TicketOut]


class OpenTicketOut(Body):
    id: int
    number: str
    subject: str
    category: str
    priority: str
    status: str
    channel: str
    customer: dict[str, Any]
    order_id: Any
    store: Any
    assignee: str
    merged_into: Any
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: Any
    resolved_at: Any
    closed_at: Any
    sla: dict[str, Any]


class TicketOut(Body):
    id: int
    number: str
    subject: str
    category: str
    priority: str
    status: str
    channel: str
    customer: dict[str, Any]
    order_id: Any
    store: Any
    assignee: str
    merged_into: Any
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: Any
    sla: dict[str, Any]


class GetTicketOut(TicketOut):
    """One ticket as the list shows it, with its thread and history."""

    messages: list[GetTicketMessagesItem]
    history: list[GetTicketHistoryItem]


class RevealDeliveryAddressesOut(Body):
    messages: list[RevealDeliveryAddressesMessagesItem]


class ReplyOut(Body):
    id: int
    kind: str
    author: str
    body: str
    message_id: str
    delivery: str
    delivery_detail: str
    attachments: list[Any]
    created_at: dt.datetime


class ServiceNoteOut(Body):
    id: int
    kind: str
    author: str
    body: str
    message_id: Any
    delivery: Any
    delivery_detail: str
    attachments: list[Any]
    created_at: dt.datetime


class ArticlePage(Body):
    count: int
    limit: int
    offset: int
    results: list[ArticleOut]


class ServiceReportOut(Body):
    period: dict[str, Any]
    category: str
    overall: dict[str, Any]
    by_category: dict[str, Any]
    by_store: dict[str, Any]
    by_agent: dict[str, Any]
    weekly: dict[str, Any]
    csat: dict[str, Any]


class GetTicketMessagesItem(Body):
    id: int
    kind: str
    author: str
    body: str
    message_id: str | None
    delivery: str | None
    delivery_detail: str
    attachments: list[dict[str, Any]]
    created_at: dt.datetime


class GetTicketHistoryItem(Body):
    action: str
    actor: str
    data: dict[str, Any]
    at: dt.datetime


class RevealDeliveryAddressesMessagesItem(Body):
    id: int
    delivery_address: str


class ArticleOut(Body):
    id: int
    title: str
    language: str
    category: dict[str, Any]
    state: str
    keywords: str
    published_at: dt.datetime
    updated_at: dt.datetime
    score: float


TicketPage.model_rebuild()
OpenTicketOut.model_rebuild()
GetTicketOut.model_rebuild()
RevealDeliveryAddressesOut.model_rebuild()
TicketOut.model_rebuild()
ReplyOut.model_rebuild()
ServiceNoteOut.model_rebuild()
ArticlePage.model_rebuild()
ServiceReportOut.model_rebuild()
GetTicketMessagesItem.model_rebuild()
GetTicketHistoryItem.model_rebuild()
RevealDeliveryAddressesMessagesItem.model_rebuild()
ArticleOut.model_rebuild()
