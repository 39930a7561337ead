"""The bodies the campaigns API answers with: its response contract, as the OpenAPI document shows it.

Each schema lists the fields a body always or sometimes (``= None``) has; :class:`rapport.core.api.Body`
lets a field added later pass through until it is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.core.api import Body


class PlanPage(Body):
    count: int
    limit: int
    offset: int
    results: list[PlanOut]


class PlanOut(Body):
    id: int
    name: str
    description: str
    kind: str
    status: str
    segment: int
    trigger: dict[str, Any]
    reentry: str
    starts_at: Any
    recurrence: str
    ends_at: Any
    next_run_at: dt.datetime | None
    control_percent: int | float
    attribution_days: int | float
    dedup_group: str
    dedup_hours: int | float
    respect_quiet_hours: bool
    steps: list[dict[str, Any]]
    created_at: dt.datetime
    launched_at: dt.datetime | None
    finished_at: dt.datetime | None


class PlanReportOut(Body):
    plan: int
    attribution_days: int | float
    audience: int
    control: int
    planned: int
    suppressed: int
    suppressed_by_reason: dict[str, Any]
    sent: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    failed: int
    converted: int
    revenue: str
    uplift: dict[str, Any]
    variants: list[PlanReportVariantsItem]
    splits: list[PlanReportSplitsItem]


class LaunchChannelReach(Body):
    channel: str
    steps: int
    with_address: int
    with_consent: int
    reachable: int
    frequency_capped: int
    duplicates: int
    quiet_hours: int
    messages: int
    cost_per_message: str | None = None
    cost: str | None = None


class LaunchRewardReach(Body):
    position: int
    kind: str
    template: int | None = None
    points: int | None = None
    customers: int
    total_points: int | None = None


class LaunchEstimateOut(Body):
    plan: int
    audience: int
    hold_out: int
    treated: int
    channels: list[LaunchChannelReach]
    rewards: list[LaunchRewardReach]
    messages: int
    dispatch_per_minute: int
    starts_at: dt.datetime
    send_minutes: int
    finishes_at: dt.datetime
    currency: str
    total_cost: str | None = None
    computed_at: dt.datetime


class TemplateOut(Body):
    id: int
    name: str
    channel: str
    subject: str
    body: str
    blocks: list[dict[str, Any]]
    updated_at: dt.datetime


class PreviewTemplateOut(Body):
    subject: str
    body: str
    html: str | None = None


class EmailBlocksOut(Body):
    blocks: list[dict[str, Any]]
    personal_fields: list[list[str]]


class PolicyOut(Body):
    channel: str
    is_enabled: bool
    gateway_url: str
    has_secret: bool
    daily_cap: int
    weekly_cap: int
    quiet_start: Any
    quiet_end: Any
    max_attempts: int


class LiftEmailSuppressionOut(Body):
    customer_id: int
    lifted: bool
    evidence: str
    suppressed: bool


class DeliveryCallbackOut(Body):
    applied: int


class BounceWebhookOut(Body):
    applied: int


class PlanReportVariantsItem(Body):
    variant: str
    sent: int
    opened: int
    clicked: int
    converted: int
    conversion_rate: float


class PlanReportSplitsItem(Body):
    step: int
    yes: int
    no: int


PlanPage.model_rebuild()
PlanOut.model_rebuild()
PlanReportOut.model_rebuild()
TemplateOut.model_rebuild()
PreviewTemplateOut.model_rebuild()
EmailBlocksOut.model_rebuild()
PolicyOut.model_rebuild()
LiftEmailSuppressionOut.model_rebuild()
DeliveryCallbackOut.model_rebuild()
BounceWebhookOut.model_rebuild()
PlanReportVariantsItem.model_rebuild()
PlanReportSplitsItem.model_rebuild()
