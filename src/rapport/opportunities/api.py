"""``/api/v1/opportunities``: sales opportunities for a WeCom sidebar or a phone app: list the
caller's (their data scope), open one, change it or move its stage, record an activity, and the
forecast by stage, owner and expected-close month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import OPPORTUNITIES_READ, OPPORTUNITIES_WRITE
from rapport.core.api import ALSO_404, Strict, actor_for, require
from rapport.core.listing import check_window, page_body, paginate
from rapport.customers.queries import visible_customer
from rapport.opportunities import services
from rapport.opportunities.models import Opportunity
from rapport.opportunities.responses import ForecastOut, OpportunityOut, OpportunityPage

router = Router(tags=["opportunities"])


class OpportunityIn(Strict):
    customer_id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=200)
    value: Decimal
    currency: str = Field("", max_length=8, description="ISO 4217; empty: the shop's currency")
    expected_close: dt.date
    pipeline: int | None = Field(None, description="pipeline id; empty: the default pipeline")
    stage: int | None = Field(None, description="stage id of that pipeline; empty: its first stage")
    probability: int | None = Field(None, description="0-100; empty: the stage's default")
    owner: str = Field("", max_length=150, description="user name or id; empty: the customer's owner")


class OpportunityChange(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    value: Decimal | None = None
    currency: str | None = Field(None, max_length=8)
    expected_close: dt.date | None = None
    probability: int | None = None
    owner: str | None = Field(None, max_length=150)
    stage: int | None = Field(None, description="move to this stage of the same pipeline")
    order_id: int | None = Field(None, description="the customer's order, required to move to a won stage")
    lost_reason: str = Field("", max_length=300, description="required to move to a lost stage")


class ActivityIn(Strict):
    kind: Literal["note", "call", "meeting"] = "note"
    text: str = Field(min_length=1, max_length=4000)


def opportunity_body(opportunity: Opportunity, *, activities: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": opportunity.pk,
        "customer_id": opportunity.customer_id,
        "pipeline_id": opportunity.pipeline_id,
        "stage_id": opportunity.stage_id,
        "stage": opportunity.stage.name,
        "title": opportunity.title,
        "value": str(opportunity.value),
        "currency": opportunity.currency,
        "expected_close": opportunity.expected_close.isoformat(),
        "probability": opportunity.probability,
        "owner": opportunity.owner.get_username() if opportunity.owner else None,
        "store": opportunity.store.code if opportunity.store else None,
        "status": opportunity.status,
        "lost_reason": opportunity.lost_reason,
        "order_id": opportunity.order_id,
    }
    if activities:
        body["activities"] = [
            {
                "id": a.pk,
                "kind": a.kind,
                "text": a.text,
                "by": a.by.get_username() if a.by else None,
                "at": a.at.isoformat(),
            }
            for a in opportunity.activities.select_related("by")[:100]
        ]
    return body


@router.get(
    "/opportunities", response={200: OpportunityPage}, summary="Opportunities of the customers the caller may see"
)
def list_opportunities(
    request: HttpRequest,
    status: Literal["open", "won", "lost"] | None = None,
    pipeline: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, OPPORTUNITIES_READ, "opportunities.view_opportunity")
    check_window(limit=limit, offset=offset)
    found = services.visible_opportunities(request.user)
    if status:
        found = found.filter(status=status)
    if pipeline:
        found = found.filter(pipeline_id=pipeline)
    page = paginate(found.order_by("expected_close", "pk"), limit=limit, offset=offset)
    return page_body(page, [opportunity_body(o) for o in page.items])


@router.post("/opportunities", response={201: OpportunityOut}, summary="Open an opportunity for a customer")
def create_opportunity(request: HttpRequest, payload: OpportunityIn) -> Status[dict[str, Any]]:
    require(request, OPPORTUNITIES_WRITE, "opportunities.add_opportunity")
    customer = visible_customer(request.user, payload.customer_id)
    data = payload.dict(exclude={"customer_id"})
    opportunity = services.create_opportunity(customer, data, actor=actor_for(request))
    return Status(201, opportunity_body(services.get_opportunity(request.user, opportunity.pk), activities=True))


@router.get(
    "/opportunities/forecast",
    openapi_extra=ALSO_404,
    response={200: ForecastOut},
    summary="Count, total and weighted value by stage, owner and month",
)
def forecast(request: HttpRequest, pipeline: int | None = None) -> dict[str, Any]:
    require(request, OPPORTUNITIES_READ, "opportunities.view_opportunity")
    chosen = services.pipeline_or_default(pipeline)
    result = services.forecast(services.visible_opportunities(request.user), chosen)
    as_text = {
        name: [{**row, "total": str(row["total"]), "weighted": str(row["weighted"])} for row in rows]
        for name, rows in result.items()
    }
    return {"pipeline_id": chosen.pk, **as_text}


@router.get(
    "/opportunities/{opportunity_id}", response={200: OpportunityOut}, summary="An opportunity and its activities"
)
def get_opportunity(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    require(request, OPPORTUNITIES_READ, "opportunities.view_opportunity")
    return opportunity_body(services.get_opportunity(request.user, opportunity_id), activities=True)


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut},
    summary="Change an opportunity; with 'stage', move it (won needs order_id, lost a lost_reason)",
)
def update_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityChange) -> dict[str, Any]:
    require(request, OPPORTUNITIES_WRITE, "opportunities.change_opportunity")
    opportunity = services.get_opportunity(request.user, opportunity_id)
    actor = actor_for(request)
    changes = payload.dict(exclude_unset=True, exclude={"stage", "order_id", "lost_reason"})
    services.change_and_move(
        opportunity,
        changes,
        stage=payload.stage,
        order=payload.order_id,
        lost_reason=payload.lost_reason,
        actor=actor,
    )
    return opportunity_body(services.get_opportunity(request.user, opportunity_id), activities=True)


@router.post(
    "/opportunities/{opportunity_id}/activities",
    response={201: OpportunityOut},
    summary="Record a note, call or meeting on an opportunity",
)
def add_activity(request: HttpRequest, opportunity_id: int, payload: ActivityIn) -> Status[dict[str, Any]]:
    require(request, OPPORTUNITIES_WRITE, "opportunities.change_opportunity")
    opportunity = services.get_opportunity(request.user, opportunity_id)
    services.add_activity(opportunity, payload.kind, payload.text, actor=actor_for(request))
    return Status(201, opportunity_body(services.get_opportunity(request.user, opportunity_id), activities=True))
