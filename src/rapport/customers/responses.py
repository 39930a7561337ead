"""The bodies the customers API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class CustomerPage(Body):
    count: int
    limit: int
    offset: int
    results: list[CustomerOut]


class CustomerOut(Body):
    id: int
    name: str
    gender: str
    birthday: Any
    lunar_birthday: bool
    phone: str
    email: str
    id_number: str
    city: str
    member_status: str
    registered_at: dt.datetime
    registration_channel: str
    store: str | None
    owner: str | None
    custom_fields: dict[str, Any]
    identities: list[dict[str, Any]]
    stats: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class BulkCustomersOut(Body):
    created: int
    updated: int
    results: list[BulkCustomersResultsItem]


class RevealOut(Body):
    phone: str
    email: str
    id_number: str
    addresses: list[Any]


class ChangePage(Body):
    count: int
    limit: int
    offset: int
    results: list[ChangeOut]


class AddIdentityOut(Body):
    channel: str
    external_id: str


class CustomersNoteOut(Body):
    id: int
    body: str
    author: str
    created_at: dt.datetime


class ConsentsOut(Body):
    consents: list[ConsentsConsentsItem]
    history: list[ConsentsHistoryItem]


class AddressOut(Body):
    id: int
    label: str
    recipient: str
    phone: str
    country: str
    province: str
    city: str
    district: str
    line1: str
    postal_code: str
    is_default: bool


class StoreOut(Body):
    id: int
    code: str
    name: str
    city: str
    time_zone: str
    currency: str
    is_online: bool
    is_active: bool


class DefinitionOut(Body):
    key: str
    label: str
    field_type: str
    choices: list[Any]
    required: bool
    max_length: int
    help_text: str
    position: int
    is_active: bool


class MergeOut(Body):
    survivor_id: int
    merged_id: int
    reason: str
    moved: dict[str, Any]
    created_at: dt.datetime


class SuggestionPage(Body):
    count: int
    limit: int
    offset: int
    results: list[SuggestionOut]


class ScanSuggestionsOut(Body):
    queued: bool


class BulkCustomersResultsItem(Body):
    id: int
    created: bool


class ChangeOut(Body):
    field: str
    old_value: str
    new_value: str
    actor: str
    source: str
    created_at: dt.datetime


class ConsentsConsentsItem(Body):
    channel: str
    purpose: str
    granted: bool
    explicit: bool
    updated_at: dt.datetime | None


class ConsentsHistoryItem(Body):
    channel: str
    purpose: str
    granted: bool
    source: str
    by: str
    evidence: str
    recorded_at: dt.datetime


class SuggestionOut(Body):
    id: int
    first_id: int
    second_id: int
    reason: str
    score: str
    status: str
    created_at: dt.datetime


CustomerPage.model_rebuild()
CustomerOut.model_rebuild()
BulkCustomersOut.model_rebuild()
RevealOut.model_rebuild()
ChangePage.model_rebuild()
AddIdentityOut.model_rebuild()
CustomersNoteOut.model_rebuild()
ConsentsOut.model_rebuild()
AddressOut.model_rebuild()
StoreOut.model_rebuild()
DefinitionOut.model_rebuild()
MergeOut.model_rebuild()
SuggestionPage.model_rebuild()
ScanSuggestionsOut.model_rebuild()
BulkCustomersResultsItem.model_rebuild()
ChangeOut.model_rebuild()
ConsentsConsentsItem.model_rebuild()
ConsentsHistoryItem.model_rebuild()
SuggestionOut.model_rebuild()
