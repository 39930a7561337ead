"""``/api/v1/campaigns``: operation plans and their life cycle, reports, content templates with
preview and test send, channel policies, call tasks, the gateways' delivery callbacks and the
email providers' bounce reports.

Handlers parse, call one service and shape the answer. The callback and bounce endpoints are the
routes without a bearer token: the sender signs them with the channel's secret instead.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from rapport.accounts.scopes import CAMPAIGNS_READ, CAMPAIGNS_WRITE
from rapport.campaigns import reports, services
from rapport.campaigns.delivery import blocks, bounces, channels
from rapport.campaigns.delivery.content import Content
from rapport.campaigns.models import Bounce, ChannelKind, ChannelPolicy, ContentTemplate, Plan
from rapport.campaigns.responses import (
    BounceWebhookOut,
    DeliveryCallbackOut,
    EmailBlocksOut,
    LaunchEstimateOut,
    LiftEmailSuppressionOut,
    PlanOut,
    PlanPage,
    PlanReportOut,
    PolicyOut,
    PreviewTemplateOut,
    TemplateOut,
)
from rapport.core.api import ALSO_409, Strict, actor_for, require
from rapport.core.errors import InvalidInput, NotFound, PermissionDeniedError
from rapport.core.listing import page_body, paginate
from rapport.customers import queries as customer_queries
from rapport.customers.services import get_customer
from rapport.tags.sync import verify

router = Router(tags=["campaigns"], exclude_unset=True)
VIEW = "campaigns.view_plan"
LIFT_SUPPRESSION = "campaigns.delete_emailsuppression"


class PlanIn(Strict):
    name: str | None = None
    description: str | None = None
    kind: Literal["one_off", "recurring", "journey"] | None = None
    segment: int | None = Field(None, description="a saved segment's id (the audience)")
    trigger: dict[str, Any] | None = Field(None, description='journeys: {"type": "abandoned_cart", ...}')
    reentry: Literal["once", "every"] | None = None
    starts_at: str | None = None
    recurrence: Literal["daily", "weekly", "monthly", ""] | None = None
    ends_at: str | None = None
    control_percent: int | None = None
    attribution_days: int | None = None
    dedup_group: str | None = None
    dedup_hours: int | None = None
    respect_quiet_hours: bool | None = None
    steps: list[dict[str, Any]] | None = Field(None, description="[{kind, config}], see docs/campaigns.md")


class TemplateIn(Strict):
    name: str | None = None
    channel: str | None = None
    subject: str | None = None
    body: str | None = None
    blocks: list[Any] | None = Field(
        None,
        description='email only: [{"type": "heading", "text": "Hello {{first_name}}"}, ...]; see GET .../email-blocks',
    )


class DraftPreviewIn(Strict):
    customer_id: int
    subject: str = ""
    blocks: list[Any]


class PreviewIn(Strict):
    customer_id: int


class TestSendIn(Strict):
    customer_id: int
    to: str


class PolicyIn(Strict):
    is_enabled: bool | None = None
    gateway_url: str | None = None
    gateway_secret: str | None = None
    daily_cap: int | None = None
    weekly_cap: int | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    max_attempts: int | None = None


class LiftSuppressionIn(Strict):
    reason: str = Field(description="why email may go to the address again (kept in the audit log)")


def _given(payload: Strict) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True)


def plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "description": plan.description,
        "kind": plan.kind,
        "status": plan.status,
        "segment": plan.segment_id,
        "trigger": plan.trigger,
        "reentry": plan.reentry,
        "starts_at": plan.starts_at,
        "recurrence": plan.recurrence,
        "ends_at": plan.ends_at,
        "next_run_at": plan.next_run_at,
        "control_percent": plan.control_percent,
        "attribution_days": plan.attribution_days,
        "dedup_group": plan.dedup_group,
        "dedup_hours": plan.dedup_hours,
        "respect_quiet_hours": plan.respect_quiet_hours,
        "steps": [{"position": s.position, "kind": s.kind, "config": s.config} for s in plan.steps.all()],
        "created_at": plan.created_at,
        "launched_at": plan.launched_at,
        "finished_at": plan.finished_at,
    }


def preview_body(rendered: Content) -> dict[str, Any]:
    """Subject and text; a block email's HTML too (a plain-text template's answer is unchanged)."""
    body = {"subject": rendered.subject, "body": rendered.body}
    return {**body, "html": rendered.html} if rendered.html else body


def template_body(template: ContentTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "name": template.name,
        "channel": template.channel,
        "subject": template.subject,
        "body": template.body,
        "blocks": template.blocks,
        "updated_at": template.updated_at,
    }


def policy_body(policy: ChannelPolicy) -> dict[str, Any]:
    return {
        "channel": policy.channel,
        "is_enabled": policy.is_enabled,
        "gateway_url": policy.gateway_url,
        "has_secret": bool(policy.gateway_secret),
        "daily_cap": policy.daily_cap,
        "weekly_cap": policy.weekly_cap,
        "quiet_start": policy.quiet_start,
        "quiet_end": policy.quiet_end,
        "max_attempts": policy.max_attempts,
    }


def _template(template_id: int) -> ContentTemplate:
    template = ContentTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound.single("template_id", "not_found", f"no content template #{template_id}")
    return template


# Plans ----------------------------------------------------------------------------------------


@router.get("/campaigns/plans", response={200: PlanPage}, summary="Operation plans, newest first")
def list_plans(
    request: HttpRequest, status: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, VIEW)
    plans = Plan.objects.prefetch_related("steps")
    if status:
        if status not in Plan.Status.values:
            raise InvalidInput.single("status", "invalid", f"one of: {', '.join(Plan.Status.values)}")
        plans = plans.filter(status=status)
    if kind:
        if kind not in Plan.Kind.values:
            raise InvalidInput.single("kind", "invalid", f"one of: {', '.join(Plan.Kind.values)}")
        plans = plans.filter(kind=kind)
    page = paginate(plans, limit=limit, offset=offset)
    return page_body(page, [plan_body(p) for p in page.items])


@router.post("/campaigns/plans", response={201: PlanOut}, summary="Create a plan (a draft) with its steps")
def create_plan(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    require(request, CAMPAIGNS_WRITE, "campaigns.add_plan")
    return Status(201, plan_body(services.save_plan(data=_given(payload), actor=actor_for(request))))


@router.get("/campaigns/plans/{plan_id}", response={200: PlanOut}, summary="One plan with its steps")
def get_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, VIEW)
    return plan_body(services.get_plan(plan_id))


@router.patch(
    "/campaigns/plans/{plan_id}",
    response={200: dict[str, Any]},
    summary="Change a draft plan (steps given replace all steps)",
)
def update_plan(request: HttpRequest, plan_id: int, payload: PlanIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_WRITE, "campaigns.change_plan")
    plan = services.get_plan(plan_id)
    return plan_body(services.save_plan(data=_given(payload), actor=actor_for(request), instance=plan))


@router.delete("/campaigns/plans/{plan_id}", response={204: None}, summary="Delete a draft plan")
def delete_plan(request: HttpRequest, plan_id: int) -> Status[None]:
    require(request, CAMPAIGNS_WRITE, "campaigns.delete_plan")
    services.delete_plan(services.get_plan(plan_id), actor=actor_for(request))
    return Status(204, None)


@router.get(
    "/campaigns/plans/{plan_id}/report",
    response={200: PlanReportOut},
    summary="Funnel, A/B variants, attributed revenue and uplift",
)
def plan_report(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, VIEW)
    plan = services.get_plan(plan_id)
    return {"plan": plan.pk, "attribution_days": plan.attribution_days, **reports.build(plan).as_dict()}


@router.get(
    "/campaigns/plans/{plan_id}/estimate",
    openapi_extra=ALSO_409,
    response={200: LaunchEstimateOut},
    summary="What launching would do (a dry run): audience, reach per channel, rewards, send time, cost",
)
def estimate_launch(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, VIEW)
    figures = services.estimate_launch(services.get_plan(plan_id)).as_dict()
    money = ("cost_per_message", "cost")
    for channel in figures["channels"]:
        channel.update({k: None if channel[k] is None else str(channel[k]) for k in money})
    total = figures["total_cost"]
    return {"plan": plan_id, **figures, "total_cost": None if total is None else str(total)}


@router.post(
    "/campaigns/plans/{plan_id}/{action}",
    response={200: PlanOut},
    summary="launch, pause, resume, cancel or duplicate a plan",
)
def plan_action(
    request: HttpRequest, plan_id: int, action: Literal["launch", "pause", "resume", "cancel", "duplicate"]
) -> dict[str, Any]:
    require(request, CAMPAIGNS_WRITE, "campaigns.launch_plan" if action != "duplicate" else "campaigns.add_plan")
    plan = services.get_plan(plan_id)
    actor = actor_for(request)
    if action == "launch":
        plan = services.launch_plan(plan, actor=actor)
    elif action == "pause":
        plan = services.pause_plan(plan, actor=actor)
    elif action == "resume":
        plan = services.resume_plan(plan, actor=actor)
    elif action == "cancel":
        plan = services.cancel_plan(plan, actor=actor)
    else:
        plan = services.duplicate_plan(plan, actor=actor)
    return plan_body(services.get_plan(plan.pk))


# Templates ------------------------------------------------------------------------------------


@router.get("/campaigns/templates", response={200: list[dict[str, Any]]}, summary="Content templates")
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, CAMPAIGNS_READ, "campaigns.view_contenttemplate")
    return [template_body(t) for t in ContentTemplate.objects.all()]


@router.post("/campaigns/templates", response={201: TemplateOut}, summary="Create a content template")
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[dict[str, Any]]:
    require(request, CAMPAIGNS_WRITE, "campaigns.add_contenttemplate")
    return Status(201, template_body(services.save_template(data=_given(payload), actor=actor_for(request))))


@router.post(
    "/campaigns/templates/preview",
    response={200: PreviewTemplateOut},
    summary="An unsaved block email as one customer would read it (the editor's live preview)",
)
def preview_draft(request: HttpRequest, payload: DraftPreviewIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, "campaigns.view_contenttemplate")
    customer = get_customer(customer_queries.visible_customers(request.user), payload.customer_id)
    return preview_body(services.preview_blocks(subject=payload.subject, blocks_data=payload.blocks, customer=customer))


@router.get(
    "/campaigns/templates/email-blocks",
    response={200: EmailBlocksOut},
    summary="The email block types, their fields and the personalisation fields",
)
def email_blocks(request: HttpRequest) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, "campaigns.view_contenttemplate")
    return blocks.catalogue()


@router.post(
    "/campaigns/templates/{template_id}/test-send",
    response={200: dict[str, Any]},
    summary="Send the preview to a staff address",
)
def test_send(request: HttpRequest, template_id: int, payload: TestSendIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_WRITE, "campaigns.change_contenttemplate")
    customer = get_customer(customer_queries.visible_customers(request.user), payload.customer_id)
    outcome = services.test_send(_template(template_id), customer=customer, to=payload.to, actor=actor_for(request))
    return {"sent": outcome.ok, "detail": outcome.error}


@router.patch("/campaigns/templates/{template_id}", response={200: dict[str, Any]}, summary="Change a content template")
def update_template(request: HttpRequest, template_id: int, payload: TemplateIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_WRITE, "campaigns.change_contenttemplate")
    template = _template(template_id)
    return template_body(services.save_template(data=_given(payload), actor=actor_for(request), instance=template))


@router.delete("/campaigns/templates/{template_id}", response={204: None}, summary="Delete a template no plan uses")
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    require(request, CAMPAIGNS_WRITE, "campaigns.delete_contenttemplate")
    services.delete_template(_template(template_id), actor=actor_for(request))
    return Status(204, None)


@router.post(
    "/campaigns/templates/{template_id}/preview",
    response={200: PreviewTemplateOut},
    summary="The template as one customer would read it",
)
def preview_template(request: HttpRequest, template_id: int, payload: PreviewIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_READ, "campaigns.view_contenttemplate")
    customer = get_customer(customer_queries.visible_customers(request.user), payload.customer_id)
    rendered = services.preview(_template(template_id), customer)
    return preview_body(rendered)


# Channels and calls ---------------------------------------------------------------------------


@router.get(
    "/campaigns/channels", response={200: list[dict[str, Any]]}, summary="Each channel's gateway, caps and quiet hours"
)
def list_policies(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, CAMPAIGNS_READ, "campaigns.view_channelpolicy")
    return [policy_body(channels.policy_for(c)) for c in ChannelKind.values]


@router.patch(
    "/campaigns/channels/{channel}",
    response={200: PolicyOut},
    summary="Change a channel's gateway, caps or quiet hours",
)
def update_policy(request: HttpRequest, channel: str, payload: PolicyIn) -> dict[str, Any]:
    require(request, CAMPAIGNS_WRITE, "campaigns.change_channelpolicy")
    return policy_body(services.save_policy(channel, data=_given(payload), actor=actor_for(request)))


# Email suppressions ---------------------------------------------------------------------------


@router.post(
    "/campaigns/customers/{customer_id}/email-suppression/lift",
    response={200: LiftEmailSuppressionOut},
    summary="Send email to a customer's suppressed (bounced) address again",
)
def lift_email_suppression(request: HttpRequest, customer_id: int, payload: LiftSuppressionIn) -> dict[str, Any]:
    """Idempotent: ``lifted`` is false when the address was not suppressed (or was lifted already)."""
    require(request, CAMPAIGNS_WRITE, LIFT_SUPPRESSION)
    customer = get_customer(customer_queries.visible_customers(request.user), customer_id)
    lifted = bounces.lift_suppression(customer, actor=actor_for(request), reason=payload.reason)
    return {
        "customer_id": customer.pk,
        "lifted": lifted is not None,
        "evidence": lifted.evidence if lifted is not None else "",
        "suppressed": False,
    }


# Gateway callbacks ----------------------------------------------------------------------------


def _check_signature(request: HttpRequest, policy: ChannelPolicy | None) -> None:
    """403 unless the body is signed with the channel's gateway secret, like its outgoing batches."""
    timestamp = request.headers.get("X-Rapport-Timestamp", "")
    signature = request.headers.get("X-Rapport-Signature", "")
    if (
        policy is None
        or not policy.gateway_secret
        or not verify(policy.gateway_secret, timestamp, request.body, signature)
    ):
        raise PermissionDeniedError.single("X-Rapport-Signature", "bad_signature", "the signature does not match")


@router.post(
    "/campaigns/callbacks/{channel}",
    response={200: DeliveryCallbackOut},
    auth=None,
    url_name="campaigns_callback",
    summary="Delivery reports from a gateway",
)
def delivery_callback(request: HttpRequest, channel: str) -> dict[str, Any]:
    """Body ``{"events": [{"id": "rapport-123", "status": "delivered|failed|opened|clicked"}]}``,
    signed like the outgoing batches (``X-Rapport-Timestamp``, ``X-Rapport-Signature``)."""
    if channel not in ChannelKind.values:
        raise NotFound.single("channel", "not_found", f"no channel {channel!r}")
    policy = ChannelPolicy.objects.filter(channel=channel).first()
    _check_signature(request, policy)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise InvalidInput.single("body", "invalid_json", "the body is not JSON") from exc
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise InvalidInput.single("events", "invalid", "a list of {id, status} objects")
    bad = [
        i
        for i, e in enumerate(events)
        if e.get("status") not in channels.REPORT_STATUSES or channels.parse_key(str(e.get("id", ""))) is None
    ]
    if bad:
        raise InvalidInput.single(
            f"events.{bad[0]}", "invalid", f"id rapport-<n> and status one of {', '.join(channels.REPORT_STATUSES)}"
        )
    return {"applied": channels.apply_delivery_reports(channel, events)}


STATUS_CODE = re.compile(r"[45]\.\d{1,3}\.\d{1,3}")
DSN_TYPES = ("message/rfc822", "multipart/report", "message/delivery-status", "text/plain")


def _bounce_event(index: int, event: Any) -> bounces.Reported:
    """One webhook event: ``{"id": "rapport-123", "status": "5.1.1" | "kind": "hard|soft", …}``."""
    if not isinstance(event, dict):
        raise InvalidInput.single(f"events.{index}", "invalid", "an object with id and status or kind")
    message_id = channels.parse_key(str(event.get("id", "")))
    if message_id is None:
        raise InvalidInput.single(f"events.{index}.id", "invalid", "the message's id, rapport-<n>")
    status = str(event.get("status") or "").strip()
    kind = str(event.get("kind") or "").strip()
    if status and not STATUS_CODE.fullmatch(status):
        raise InvalidInput.single(f"events.{index}.status", "invalid", "a DSN status code, 5.x.x or 4.x.x")
    if kind and kind not in Bounce.Kind.values:
        raise InvalidInput.single(f"events.{index}.kind", "invalid", "hard or soft")
    if not status and not kind:
        raise InvalidInput.single(f"events.{index}.status", "required", "a DSN status code or a kind (hard, soft)")
    failure = bounces.Failure(
        kind=kind or bounces.kind_of(status),
        status=status,
        diagnostic=str(event.get("diagnostic") or "")[:300],
        recipient=str(event.get("recipient") or "")[:254],
    )
    return bounces.Reported(message_id, failure)


@router.post(
    "/campaigns/bounces",
    response={200: BounceWebhookOut},
    auth=None,
    url_name="campaigns_bounces",
    summary="Email bounces from a provider",
)
def bounce_webhook(request: HttpRequest) -> dict[str, Any]:
    """JSON ``{"events": [{"id": "rapport-123", "status": "5.1.1", "diagnostic": "…"}]}`` (or
    ``"kind": "hard|soft"`` instead of a status), or the returned mail itself (a DSN, as
    ``message/rfc822``). Signed with the email channel's secret like the gateway callbacks."""
    policy = ChannelPolicy.objects.filter(channel=ChannelKind.EMAIL).first()
    _check_signature(request, policy)
    content_type = (request.content_type or "").lower()
    if content_type in DSN_TYPES:
        try:
            failure = bounces.read_report(request.body)
        except bounces.UnreadableReport as exc:
            raise InvalidInput.single("body", "malformed", str(exc)) from exc
        message_id = bounces.signed_message_in(request.body)
        if message_id is None:
            raise InvalidInput.single("body", "unknown_message", "the mail quotes no Message-ID of ours")
        if failure is None:
            return {"applied": 0}
        reported = [bounces.Reported(message_id, failure)]
    else:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise InvalidInput.single(
                "body", "invalid_json", "the body is not JSON (or a DSN as message/rfc822)"
            ) from exc
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not events:
            raise InvalidInput.single("events", "invalid", "a list of {id, status} objects")
        reported = [_bounce_event(index, event) for index, event in enumerate(events)]
    return {"applied": bounces.record_bounces(reported, source=Bounce.Source.WEBHOOK)}
