"""The bodies the opportunities API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from rapport.core.api import Body


class OpportunityActivityOut(Body):
    id: int
    kind: str
    text: str
    by: str | None
    at: str


class OpportunityOut(Body):
    id: int
    customer_id: int
    pipeline_id: int
    stage_id: int
    stage: str
    title: str
    value: str
    currency: str
    expected_close: str
    probability: int
    owner: str | None
    store: str | None
    status: str
    lost_reason: str
    order_id: int | None
    activities: list[OpportunityActivityOut] | None = None


class OpportunityPage(Body):
    count: int
    limit: int
    offset: int
    results: list[OpportunityOut]


class ForecastStageRow(Body):
    stage: int
    stage_name: str
    currency: str
    count: int
    total: str
    weighted: str


class ForecastOwnerRow(Body):
    owner: str
    currency: str
    count: int
    total: str
    weighted: str


class ForecastMonthRow(Body):
    month: str
    currency: str
    count: int
    total: str
    weighted: str


class ForecastOut(Body):
    pipeline_id: int
    stages: list[ForecastStageRow]
    owners: list[ForecastOwnerRow]
    months: list[ForecastMonthRow]


OpportunityOut.model_rebuild()
OpportunityPage.model_rebuild()
ForecastOut.model_rebuild()
