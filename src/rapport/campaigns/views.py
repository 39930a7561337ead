"""Console pages for campaigns: the plan list, the plan builder (a structured step list), a plan's
report with its funnel, content templates with preview and test send and channel settings.
Views only translate between HTTP and the services.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from rapport.campaigns import reports, services, starters
from rapport.campaigns.delivery import blocks, bounces, channels, content
from rapport.campaigns.delivery import sms as sms_length
from rapport.campaigns.journeys.validation import TRIGGERS
from rapport.campaigns.models import (
    CUSTOMER_CHANNELS,
    ChannelKind,
    ContentTemplate,
    Message,
    Plan,
    Step,
)
from rapport.clienteling import steps as task_steps
from rapport.core.errors import DomainError, FieldError
from rapport.core.listing import page_offset, paginate
from rapport.core.requests import console_actor, error_text
from rapport.customers import queries as customer_queries
from rapport.loyalty.models import CouponTemplate
from rapport.promotions import steps as promotion_steps
from rapport.segments.models import Segment

PAGE_SIZE = 50
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
DRAFT_PREVIEW_URL = "/api/v1/campaigns/templates/preview"
CUSTOMER_SEARCH_URL = "/api/v1/customers"  # ?q= finds a name, pinyin, phone or its last four digits


def _local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)


def _from_local(value: str) -> str:
    """A ``datetime-local`` input (the shop's time zone) as an ISO date-time with its offset."""
    if not value:
        return ""
    try:
        return dt.datetime.strptime(value, DATETIME_LOCAL).replace(tzinfo=_local_zone()).isoformat()
    except ValueError:
        return value  # the service names the field and the expected form


def _to_local(value: dt.datetime | None) -> str:
    return value.astimezone(_local_zone()).strftime(DATETIME_LOCAL) if value else ""


# Plans ----------------------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_plan", raise_exception=True)
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = Plan.objects.select_related("segment").annotate(
        audience=Count("enrollments", distinct=True),
    )
    status = request.GET.get("status", "")
    if status in Plan.Status.values:
        plans = plans.filter(status=status)
    page = paginate(plans, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    sent = dict(
        Message.objects.filter(plan__in=[p.pk for p in page.items], status__in=reports.PAST_SENT)
        .values_list("plan")
        .annotate(n=Count("pk"))
        .values_list("plan", "n")
    )
    rows = [(plan, sent.get(plan.pk, 0)) for plan in page.items]
    return render(
        request,
        "campaigns/plan_list.html",
        {"nav": "campaigns", "rows": rows, "page": page, "status": status, "statuses": Plan.Status.choices},
    )


def _builder_catalogue() -> dict[str, Any]:
    """What the step editor offers: templates by channel, manual tags, segments, step kinds."""
    from rapport.campaigns.journeys import rewards
    from rapport.tags.models import Tag

    return {
        "kinds": [{"value": v, "label": str(label)} for v, label in Step.Kind.choices if v not in rewards.UNAVAILABLE],
        "channels": [{"value": c.value, "label": str(c.label)} for c in CUSTOMER_CHANNELS],
        "templates": [
            {"value": t.pk, "label": t.name, "channel": t.channel} for t in ContentTemplate.objects.order_by("name")
        ],
        "tags": [
            {"value": t.pk, "label": str(t)}
            for t in Tag.objects.filter(type=Tag.Type.MANUAL, is_active=True).select_related("category")
        ],
        "segments": [{"value": s.pk, "label": s.name} for s in Segment.objects.filter(is_template=False)],
        "rewards": {
            **rewards.catalogue(),
            Step.Kind.TASK.value: task_steps.catalogue(),
            Step.Kind.PROMOTION.value: promotion_steps.catalogue(),
        },
        "engagements": [
            {"value": "opened", "label": _("Opened the message of an earlier step")},
            {"value": "clicked", "label": _("Clicked in the message of an earlier step")},
            {"value": "delivered", "label": _("Was delivered the message of an earlier step (SMS, push, WeChat)")},
        ],
        "labels": {
            "split_on": _("Split on"),
            "split_segment": _("Being in a segment"),
            "send_step": _("The message of step"),
            "within_hours": _("within hours of sending (empty: any time)"),
            "remove": _("Remove"),
            "up": _("Move up"),
            "down": _("Move down"),
            "minutes": _("Wait (minutes)"),
            "until": _("or until (date and time)"),
            "segment": _("Customer is in segment"),
            "yes": _("If yes, go to step"),
            "no": _("If no, go to step"),
            "next": _("the next step"),
            "end": _("end"),
            "channel": _("Channel"),
            "purpose": _("Purpose"),
            "marketing": _("Marketing"),
            "service": _("Service"),
            "variant": _("Variant"),
            "template": _("Template"),
            "weight": _("Share %"),
            "add_variant": _("Add A/B variant"),
            "tag": _("Tag"),
            "email": _("Staff email"),
            "subject": _("Subject"),
            "message": _("Message (may use {{ customer.name }})"),
            "step": _("Step"),
            "exclude_running_out": _("Leave out products forecast to run out"),
            "recommend_hint": _(
                "Sends each customer's own recommendations; pick a template with a Product recommendations "
                "block or one that uses {{ recommendations }}. Customers without any skip this step."
            ),
        },
    }


def _plan_data(request: HttpRequest) -> tuple[dict[str, Any], list[FieldError]]:
    post = request.POST
    errors: list[FieldError] = []
    try:
        steps = json.loads(post.get("steps") or "[]")
    except ValueError:
        steps = None
        errors.append(FieldError("steps", "invalid", _("the step list could not be read")))
    for step in steps if isinstance(steps, list) else []:
        config = step.get("config") if isinstance(step, dict) else None
        if isinstance(config, dict) and isinstance(config.get("until"), str) and len(config["until"]) == 16:
            config["until"] = _from_local(config["until"])  # the builder's datetime-local, in the shop's zone
    kind = post.get("kind", Plan.Kind.ONE_OFF)
    trigger_type = post.get("trigger_type", "")
    trigger: dict[str, Any] = {"type": trigger_type}
    for name in ("event", "idle_minutes", "segment", "days_before", "days"):
        if post.get(f"trigger_{name}"):
            trigger[name] = post.get(f"trigger_{name}")
    data: dict[str, Any] = {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "kind": kind,
        "segment": post.get("segment") or None,
        "trigger": trigger if kind == Plan.Kind.JOURNEY else {},
        "reentry": post.get("reentry", Plan.Reentry.EVERY),
        "starts_at": _from_local(post.get("starts_at", "")),
        "recurrence": post.get("recurrence", ""),
        "ends_at": _from_local(post.get("ends_at", "")),
        "control_percent": post.get("control_percent", "0"),
        "attribution_days": post.get("attribution_days", "7"),
        "dedup_group": post.get("dedup_group", ""),
        "dedup_hours": post.get("dedup_hours", "24"),
        "respect_quiet_hours": post.get("respect_quiet_hours") == "on",
        "steps": steps,
    }
    return data, errors


def _plan_form(request: HttpRequest, plan: Plan | None) -> HttpResponse:
    errors: list[FieldError] = []
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_plan" if plan else "campaigns.add_plan"):
            raise PermissionDenied
        data, errors = _plan_data(request)
        if not errors:
            try:
                saved = services.save_plan(data=data, actor=console_actor(request), instance=plan)
                messages.success(request, _("Plan saved."))
                return redirect("campaigns:detail", pk=saved.pk)
            except DomainError as exc:
                errors = exc.errors
        values = {**request.POST.dict()}
        steps = data["steps"] if isinstance(data["steps"], list) else []
    else:
        values = _plan_values(plan)
        ordered = plan.steps.order_by("position") if plan else []
        steps = [{"kind": s.kind, "config": s.config} for s in ordered]
    return render(
        request,
        "campaigns/plan_form.html",
        {
            "nav": "campaigns",
            "plan": plan,
            "values": values,
            "steps": steps,
            "errors": errors,
            "error_fields": {e.field.split(".")[0] for e in errors},
            "catalogue": _builder_catalogue(),
            "kinds": Plan.Kind.choices,
            "triggers": TRIGGERS,
            "recurrences": Plan.Recurrence.choices,
            "segments": Segment.objects.filter(is_template=False),
            "time_zone": settings.RAPPORT_DEFAULT_TIME_ZONE,
        },
    )


def _plan_values(plan: Plan | None) -> dict[str, Any]:
    if plan is None:
        return {
            "kind": Plan.Kind.ONE_OFF,
            "control_percent": 10,
            "attribution_days": 7,
            "dedup_hours": 24,
            "respect_quiet_hours": "on",
            "reentry": Plan.Reentry.EVERY,
        }
    trigger = plan.trigger or {}
    return {
        "name": plan.name,
        "description": plan.description,
        "kind": plan.kind,
        "segment": str(plan.segment_id or ""),
        "trigger_type": trigger.get("type", ""),
        **{f"trigger_{k}": v for k, v in trigger.items() if k != "type"},
        "reentry": plan.reentry,
        "starts_at": _to_local(plan.starts_at),
        "recurrence": plan.recurrence,
        "ends_at": _to_local(plan.ends_at),
        "control_percent": plan.control_percent,
        "attribution_days": plan.attribution_days,
        "dedup_group": plan.dedup_group,
        "dedup_hours": plan.dedup_hours,
        "respect_quiet_hours": "on" if plan.respect_quiet_hours else "",
    }


@login_required
@permission_required("campaigns.add_plan", raise_exception=True)
def plan_create(request: HttpRequest) -> HttpResponse:
    return _plan_form(request, None)


@login_required
@permission_required("campaigns.change_plan", raise_exception=True)
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=pk)
    if not plan.is_editable:
        messages.error(request, _("Only a draft can be changed; duplicate the plan to change it."))
        return redirect("campaigns:detail", pk=pk)
    return _plan_form(request, plan)


@login_required
@permission_required("campaigns.view_plan", raise_exception=True)
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("segment"), pk=pk)
    report = reports.build(plan)
    recent = Message.objects.filter(plan=plan).select_related("customer").order_by("-created_at", "-id")[:20]
    visible = set(
        customer_queries.visible_customers(request.user)
        .filter(pk__in=[m.customer_id for m in recent if m.customer_id])
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "campaigns/plan_detail.html",
        {
            "nav": "campaigns",
            "plan": plan,
            "steps": plan.steps.order_by("position"),
            "report": report,
            "funnel": reports.funnel_figure(report) if report.audience else "",
            "recent": [(m, m.customer_id in visible) for m in recent],
            "templates": {t.pk: t for t in ContentTemplate.objects.all()},
        },
    )


_ACTIONS = {
    "launch": (services.launch_plan, "campaigns.launch_plan"),
    "pause": (services.pause_plan, "campaigns.launch_plan"),
    "resume": (services.resume_plan, "campaigns.launch_plan"),
    "cancel": (services.cancel_plan, "campaigns.launch_plan"),
    "duplicate": (services.duplicate_plan, "campaigns.add_plan"),
    "delete": (services.delete_plan, "campaigns.delete_plan"),
}


@login_required
@require_POST
def plan_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in _ACTIONS:
        raise PermissionDenied
    service, permission = _ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    plan = get_object_or_404(Plan, pk=pk)
    try:
        result = service(plan, actor=console_actor(request))  # type: ignore[operator]
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("campaigns:detail", pk=pk)
    done = {
        "launch": _("Plan launched."),
        "pause": _("Plan paused."),
        "resume": _("Plan resumed."),
        "cancel": _("Plan cancelled."),
        "duplicate": _("Plan duplicated: this is the copy."),
        "delete": _("Plan deleted."),
    }
    messages.success(request, done[action])
    if action == "delete":
        return redirect("campaigns:list")
    return redirect("campaigns:detail", pk=result.pk if isinstance(result, Plan) else pk)


# Templates ------------------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_contenttemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/template_list.html",
        {
            "nav": "campaigns",
            "templates": ContentTemplate.objects.all(),
            "starters": [
                (_("English"), [s for s in starters.STARTERS if s.language == "en"]),
                (_("Simplified Chinese"), [s for s in starters.STARTERS if s.language == "zh-hans"]),
            ],
        },
    )


def _template_values(template: ContentTemplate | None, starter: starters.Starter | None) -> dict[str, Any]:
    if template is not None:
        return {
            "name": template.name,
            "channel": template.channel,
            "subject": template.subject,
            "body": template.body,
            "blocks": template.blocks,
            "format": "blocks" if template.blocks else "text",
        }
    if starter is not None:
        coupon = CouponTemplate.objects.filter(is_active=True).order_by("-created_at").values_list("pk", flat=True)
        return {
            "name": starter.name,
            "channel": ChannelKind.EMAIL,
            "subject": starter.subject,
            "blocks": starter.blocks_for(coupon.first()),
            "format": "blocks",
        }
    return {"channel": ChannelKind.EMAIL, "format": "blocks", "blocks": []}


def _posted_template(request: HttpRequest) -> tuple[dict[str, Any], list[FieldError]]:
    """The form's fields; the block editor posts its list as JSON in a hidden field."""
    values: dict[str, Any] = {k: request.POST.get(k, "") for k in ("name", "channel", "subject", "body", "format")}
    values.update(customer=request.POST.get("customer", ""), to=request.POST.get("to", ""))
    values["blocks"] = []
    if values["format"] == "blocks" and values["channel"] == ChannelKind.EMAIL:
        try:
            values["blocks"] = json.loads(request.POST.get("blocks") or "[]")
        except ValueError:
            return values, [FieldError("blocks", "invalid_json", _("the blocks could not be read; reload the page"))]
    return values, []


def _template_form(request: HttpRequest, template: ContentTemplate | None) -> HttpResponse:
    errors: list[FieldError] = []
    preview = None
    starter = starters.BY_KEY.get(request.GET.get("starter", "")) if template is None else None
    values = _template_values(template, starter)
    if request.method == "POST":
        if not request.user.has_perm(
            "campaigns.change_contenttemplate" if template else "campaigns.add_contenttemplate"
        ):
            raise PermissionDenied
        values, errors = _posted_template(request)
        try:
            if errors:
                raise DomainError(errors)
            if "preview" in request.POST or "test_send" in request.POST:
                if template is None:
                    raise DomainError.single("name", "unsaved", _("save the template first"))
                if not values["customer"].strip().isdigit():
                    raise DomainError.single("customer", "required", _("find a customer to preview for"))
                customer = customer_queries.visible_customer(request.user, int(values["customer"]))
                values["customer_label"] = customer.name
                if "preview" in request.POST:
                    preview = services.preview(template, customer)
                else:
                    outcome = services.test_send(
                        template, customer=customer, to=values["to"], actor=console_actor(request)
                    )
                    if outcome.ok:
                        messages.success(request, _("Test sent to %(to)s.") % {"to": values["to"]})
                    else:
                        messages.error(request, outcome.error)
            else:
                data = {k: values[k] for k in ("name", "channel", "subject", "body", "blocks")}
                saved = services.save_template(data=data, actor=console_actor(request), instance=template)
                messages.success(request, _("Template saved."))
                return redirect("campaigns:template_edit", pk=saved.pk)
        except DomainError as exc:
            errors = exc.errors
    sms = sms_length.measure(str(values.get("body") or ""))
    return render(
        request,
        "campaigns/template_form.html",
        {
            "nav": "campaigns",
            "template": template,
            "starter": starter,
            "values": values,
            "errors": errors,
            "preview": preview,
            "sms": sms,
            "channels": [(c.value, c.label) for c in CUSTOMER_CHANNELS],
            "variables": list(content.VARIABLES),
            "editor": _email_editor_data(values.get("blocks") or [], errors),
        },
    )


def _email_editor_data(stored_blocks: list[Any], errors: list[FieldError]) -> dict[str, Any]:
    """What the block editor (campaigns/email_editor.js) reads from the page: the catalogue, the
    coupon templates by name, the blocks, the errors by field, its strings and URLs."""
    coupons = CouponTemplate.objects.filter(is_active=True).order_by("name").values_list("pk", "name")
    return {
        **blocks.catalogue(),
        "coupon_templates": [[pk, name] for pk, name in coupons],
        "value": stored_blocks,
        "errors": {e.field: e.message for e in errors if e.field.startswith("blocks")},
        "urls": {
            "preview": DRAFT_PREVIEW_URL,
            "frame": reverse("campaigns:email_frame"),
            "customers": CUSTOMER_SEARCH_URL,
        },
        "strings": {
            "add": _("Add block"),
            "up": _("Move up"),
            "down": _("Move down"),
            "remove": _("Remove"),
            "insert_field": _("Insert a field…"),
            "choose": _("— choose —"),
            "no_customers": _("No customer found."),
            "pick_customer": _("Find a customer to preview as."),
            "previewing": _("Preview as %(name)s"),
            "failed": _("The preview could not be made."),
            "characters": _("%(count)s characters"),
            "segments": _("%(count)s SMS (%(encoding)s)"),
            "fix": _("Fix the marked fields to see the preview."),
        },
    }


@login_required
@permission_required("campaigns.view_contenttemplate", raise_exception=True)
@require_POST
@xframe_options_sameorigin
@csp_replace(
    {"img-src": ["'self'", "data:", "https:", "http:"], "frame-ancestors": ["'self'"], "script-src": ["'none'"]}
)
def email_frame(request: HttpRequest) -> HttpResponse:
    """The editor's preview pane: the unsaved email's HTML as the chosen customer receives it, in a
    frame of its own so that the email's pictures from the shop's image host load (the console's
    own pages allow no outside images) and nothing in it can run a script."""
    try:
        customer = customer_queries.visible_customer(request.user, int(request.POST.get("customer") or 0))
        rendered = services.preview_blocks(
            subject=request.POST.get("subject", ""),
            blocks_data=json.loads(request.POST.get("blocks") or "[]"),
            customer=customer,
        )
    except (DomainError, ValueError):
        return render(request, "campaigns/email/frame_error.html", {}, status=200)
    return HttpResponse(rendered.html)


@login_required
@permission_required("campaigns.add_contenttemplate", raise_exception=True)
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


@login_required
@permission_required("campaigns.view_contenttemplate", raise_exception=True)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_form(request, get_object_or_404(ContentTemplate, pk=pk))


# Channels and calls ---------------------------------------------------------------------------


@login_required
@permission_required("campaigns.view_channelpolicy", raise_exception=True)
def channel_settings(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[FieldError]] = {}
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_channelpolicy"):
            raise PermissionDenied
        channel = request.POST.get("channel", "")
        data: dict[str, Any] = {
            "is_enabled": request.POST.get("is_enabled") == "on",
            "daily_cap": request.POST.get("daily_cap", ""),
            "weekly_cap": request.POST.get("weekly_cap", ""),
            "quiet_start": request.POST.get("quiet_start", ""),
            "quiet_end": request.POST.get("quiet_end", ""),
            "max_attempts": request.POST.get("max_attempts", ""),
        }
        if "gateway_url" in request.POST:
            data["gateway_url"] = request.POST.get("gateway_url", "")
            if request.POST.get("gateway_secret"):
                data["gateway_secret"] = request.POST["gateway_secret"]
        try:
            services.save_policy(channel, data=data, actor=console_actor(request))
            messages.success(request, _("Channel settings saved."))
            return redirect("campaigns:channels")
        except DomainError as exc:
            errors[channel] = exc.errors
    policies = [
        (channels.policy_for(c), c in channels.GATEWAY_CHANNELS, errors.get(c.value, [])) for c in CUSTOMER_CHANNELS
    ]
    return render(
        request,
        "campaigns/channels.html",
        {
            "nav": "campaigns",
            "policies": policies,
            "smtp": channels.smtp_configured(),
            "smtp_host": settings.EMAIL_HOST,
        },
    )


# The customer 360 Messages tab ---------------------------------------------------------------


@login_required
@require_POST
@permission_required("campaigns.delete_emailsuppression", raise_exception=True)
def lift_suppression(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(customer_queries.visible_customers(request.user), pk=customer_id)
    try:
        lifted = bounces.lift_suppression(customer, actor=console_actor(request), reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        if lifted is None:
            messages.info(request, _("This customer's email address was not suppressed."))
        else:
            messages.success(request, _("Email suppression lifted: email goes to this address again."))
    return redirect(f"{reverse('customers:detail', args=[customer.pk])}?tab=messages")
