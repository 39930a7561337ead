"""Campaigns' business rules: plans and their life cycle, templates, channel policies, call
tasks, previews and test sends, and the one-click unsubscribe. Every entry point (console, API,
tasks) calls these; each owns its transaction and writes an audit entry.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.campaigns.delivery import blocks, channels, content, tracking
from rapport.campaigns.journeys import engine, reach, triggers
from rapport.campaigns.journeys.validation import clean_plan
from rapport.campaigns.models import (
    CONSENT_CHANNEL,
    MESSAGE_STEPS,
    ChannelKind,
    ChannelPolicy,
    ContentTemplate,
    Enrollment,
    Message,
    Plan,
    Purpose,
    Step,
)
from rapport.campaigns.signals import plan_started
from rapport.core.actor import Actor, Source
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.customers.consent import withdraw_marketing
from rapport.customers.models import Customer

ACTIVE_STATES = (Enrollment.State.ACTIVE, Enrollment.State.WAITING)


# Plans ----------------------------------------------------------------------------------------


def get_plan(plan_id: int) -> Plan:
    plan = Plan.objects.select_related("segment").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound.single("id", "not_found", f"no operation plan #{plan_id}")
    return plan


def _write_steps(plan: Plan, steps: list[dict[str, Any]]) -> None:
    plan.steps.all().delete()
    Step.objects.bulk_create(
        [Step(plan=plan, position=index, kind=s["kind"], config=s["config"]) for index, s in enumerate(steps, 1)]
    )


@transaction.atomic
def save_plan(*, data: Mapping[str, Any], actor: Actor, instance: Plan | None = None) -> Plan:
    """Create a plan, or change a draft; the whole plan (steps included) is checked first."""
    if instance is not None and not instance.is_editable:
        raise Conflict.single("status", "not_draft", "only a draft can be changed; pause and duplicate it instead")
    cleaned = clean_plan(data, instance)
    steps = cleaned.pop("steps", None)
    plan = instance or Plan(created_by=actor.staff_user)
    for field, value in cleaned.items():
        setattr(plan, field, value)
    plan.save()
    if steps is not None:
        _write_steps(plan, steps)
    record(
        actor,
        AuditEntry.Action.CREATE if instance is None else AuditEntry.Action.UPDATE,
        obj=plan,
        changes={"name": plan.name, "kind": plan.kind, "steps": [s["kind"] for s in steps] if steps else None},
    )
    return plan


@transaction.atomic
def duplicate_plan(plan: Plan, *, actor: Actor) -> Plan:
    copy = Plan.objects.get(pk=plan.pk)
    copy.pk = None
    copy.name = f"{plan.name} (copy)"[:120]
    copy.status, copy.launched_at, copy.finished_at, copy.next_run_at = Plan.Status.DRAFT, None, None, None
    copy.trigger_cursor, copy.created_by = {}, actor.staff_user
    copy.save()
    _write_steps(copy, [{"kind": s.kind, "config": s.config} for s in plan.steps.order_by("position")])
    record(actor, AuditEntry.Action.CREATE, obj=copy, changes={"duplicate_of": plan.pk})
    return copy


@transaction.atomic
def delete_plan(plan: Plan, *, actor: Actor) -> None:
    if plan.status != Plan.Status.DRAFT:
        raise Conflict.single("status", "not_draft", "a launched plan keeps its history: cancel it instead")
    record(actor, AuditEntry.Action.DELETE, obj=plan, changes={"name": plan.name})
    plan.delete()


def _next_run(plan: Plan, after: dt.datetime) -> dt.datetime:
    if plan.recurrence == Plan.Recurrence.DAILY:
        return after + dt.timedelta(days=1)
    if plan.recurrence == Plan.Recurrence.WEEKLY:
        return after + dt.timedelta(weeks=1)
    month = after.month % 12 + 1
    year = after.year + (after.month == 12)
    return after.replace(year=year, month=month, day=min(after.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def launch_plan(plan: Plan, *, actor: Actor, now: dt.datetime | None = None) -> Plan:
    """Start a draft: a one-off send enters its segment now (or at ``starts_at``), a recurring send
    runs at each occurrence, a journey starts listening to its trigger."""
    now = now or timezone.now()
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (Plan.Status.DRAFT, Plan.Status.SCHEDULED):
        raise Conflict.single("status", "not_draft", f"the plan is {plan.get_status_display()}")
    if not plan.steps.exists():
        raise InvalidInput.single("steps", "required", "add at least one step before launching")
    plan.launched_at = now
    if plan.kind == Plan.Kind.JOURNEY:
        plan.status = Plan.Status.RUNNING
        plan.trigger_cursor = {"since": now.isoformat()}
    elif plan.starts_at and plan.starts_at > now:
        plan.status = Plan.Status.SCHEDULED
        plan.next_run_at = plan.starts_at
    else:
        plan.status = Plan.Status.RUNNING
        plan.next_run_at = now
    plan.save()
    record(actor, AuditEntry.Action.UPDATE, obj=plan, changes={"status": plan.status})
    transaction.on_commit(triggers.forget)
    if plan.status == Plan.Status.RUNNING:
        _schedule_run(plan)
    return plan


def estimate_launch(plan: Plan, *, now: dt.datetime | None = None) -> reach.Reach:
    """What launching would do now (audience, reach per channel, rewards, send time, cost); writes nothing."""
    return reach.estimate(plan, now=now)


def _schedule_run(plan: Plan) -> None:
    plan_started.send(sender=Plan, plan_id=plan.pk)


@transaction.atomic
def pause_plan(plan: Plan, *, actor: Actor) -> Plan:
    """Stop moving customers and sending; planned messages wait for the plan to resume."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (Plan.Status.RUNNING, Plan.Status.SCHEDULED):
        raise Conflict.single("status", "not_running", f"the plan is {plan.get_status_display()}")
    plan.status = Plan.Status.PAUSED
    plan.save(update_fields=["status", "updated_at"])
    record(actor, AuditEntry.Action.UPDATE, obj=plan, changes={"status": plan.status})
    transaction.on_commit(triggers.forget)
    return plan


@transaction.atomic
def resume_plan(plan: Plan, *, actor: Actor) -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != Plan.Status.PAUSED:
        raise Conflict.single("status", "not_paused", f"the plan is {plan.get_status_display()}")
    plan.status = Plan.Status.RUNNING
    plan.save(update_fields=["status", "updated_at"])
    record(actor, AuditEntry.Action.UPDATE, obj=plan, changes={"status": plan.status})
    transaction.on_commit(triggers.forget)
    _schedule_run(plan)
    return plan


@transaction.atomic
def cancel_plan(plan: Plan, *, actor: Actor, now: dt.datetime | None = None) -> Plan:
    """Stop for good: customers leave the plan and messages not yet sent are suppressed."""
    now = now or timezone.now()
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status in (Plan.Status.COMPLETED, Plan.Status.CANCELLED, Plan.Status.DRAFT):
        raise Conflict.single("status", "finished", f"the plan is {plan.get_status_display()}")
    plan.status, plan.finished_at = Plan.Status.CANCELLED, now
    plan.save(update_fields=["status", "finished_at", "updated_at"])
    left = Enrollment.objects.filter(plan=plan, state__in=ACTIVE_STATES).update(
        state=Enrollment.State.EXITED, finished_at=now, wake_at=None
    )
    dropped = Message.objects.filter(plan=plan, status=Message.Status.PLANNED).update(
        status=Message.Status.SUPPRESSED, reason=Message.Reason.PLAN_CANCELLED, lease_until=None
    )
    record(
        actor, AuditEntry.Action.UPDATE, obj=plan, changes={"status": plan.status, "exited": left, "dropped": dropped}
    )
    transaction.on_commit(triggers.forget)
    return plan


# Running --------------------------------------------------------------------------------------


def run_plan(plan: Plan, *, now: dt.datetime | None = None, deliver: bool = True) -> dict[str, int]:
    """One pass over a running plan: enter its audience if a run is due, move everyone who can
    move, send what is due, and mark a finished send completed. Safe to run twice or concurrently."""
    now = now or timezone.now()
    entered = 0
    with transaction.atomic():
        locked = Plan.objects.select_for_update().filter(pk=plan.pk).first()
        if locked is None:
            return {}
        plan = locked
        if plan.status == Plan.Status.SCHEDULED and plan.next_run_at and plan.next_run_at <= now:
            plan.status = Plan.Status.RUNNING
            plan.save(update_fields=["status", "updated_at"])
        if plan.status != Plan.Status.RUNNING:
            return {}
        due = plan.next_run_at
        if plan.kind != Plan.Kind.JOURNEY and due is not None and due <= now and plan.segment is not None:
            entry_key = "once" if plan.kind == Plan.Kind.ONE_OFF else f"run:{due:%Y%m%d%H%M}"
            entered = engine.enroll(plan, engine.members(plan.segment.rule, now=now), entry_key=entry_key, now=now)
            plan.next_run_at = _next_run(plan, due) if plan.kind == Plan.Kind.RECURRING else None
            if plan.ends_at and plan.next_run_at and plan.next_run_at > plan.ends_at:
                plan.next_run_at = None
            plan.save(update_fields=["next_run_at", "updated_at"])
    moved = engine.advance(plan, now=now)
    sent = channels.deliver_due(now=now) if deliver else {}
    _complete_if_done(plan, now)
    return {"entered": entered, "moved": moved, **{f"messages_{k}": v for k, v in sent.items()}}


def _complete_if_done(plan: Plan, now: dt.datetime) -> None:
    if plan.kind == Plan.Kind.JOURNEY:
        if not (plan.ends_at and plan.ends_at <= now):
            return
    elif plan.next_run_at is not None:
        return
    busy = Enrollment.objects.filter(plan=plan, state__in=ACTIVE_STATES).exists() or (
        Message.objects.filter(plan=plan, status=Message.Status.PLANNED).exists()
    )
    if not busy:
        Plan.objects.filter(pk=plan.pk, status=Plan.Status.RUNNING).update(
            status=Plan.Status.COMPLETED, finished_at=now, updated_at=now
        )


def run_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The scheduler's tick: every running or due plan moves, then due messages go out."""
    now = now or timezone.now()
    totals = {"plans": 0, "entered": 0, "moved": 0}
    for plan in Plan.objects.filter(status__in=[Plan.Status.RUNNING, Plan.Status.SCHEDULED]).order_by("pk"):
        if plan.status == Plan.Status.SCHEDULED and not (plan.next_run_at and plan.next_run_at <= now):
            continue
        result = run_plan(plan, now=now, deliver=False)
        totals["plans"] += 1
        totals["entered"] += result.get("entered", 0)
        totals["moved"] += result.get("moved", 0)
    sent = channels.deliver_due(now=now)
    for plan in Plan.objects.filter(status=Plan.Status.RUNNING).exclude(kind=Plan.Kind.JOURNEY):
        _complete_if_done(plan, now)
    return {**totals, **{f"messages_{k}": v for k, v in sent.items()}}


# Content templates ----------------------------------------------------------------------------

_TEMPLATE_FIELDS = ("name", "channel", "subject", "body", "blocks")


def _clean_template(data: Mapping[str, Any], instance: ContentTemplate | None) -> dict[str, Any]:
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in _TEMPLATE_FIELDS]
    cleaned: dict[str, Any] = {}
    email_blocks, block_mode = _clean_email_blocks(data, instance, errors)
    for field, limit in (("name", 120), ("subject", 200), ("body", 20_000)):
        if instance is None or field in data:
            value = data.get(field)
            text = str(value).strip() if value is not None else ""
            if not text and (field == "name" or (field == "body" and not block_mode)):
                errors.append(FieldError(field, "required", f"a {field} of 1 to {limit} characters"))
            elif len(text) > limit:
                errors.append(FieldError(field, "too_long", f"at most {limit} characters"))
            cleaned[field] = "" if field == "body" and block_mode else text
    if "blocks" in data:
        cleaned["blocks"] = email_blocks
    others = ContentTemplate.objects.exclude(pk=instance.pk) if instance else ContentTemplate.objects.all()
    if "name" in cleaned and others.filter(name=cleaned["name"]).exists():
        errors.append(FieldError("name", "duplicate", f"a template named {cleaned['name']!r} exists"))
    if instance is None or "channel" in data:
        if data.get("channel") not in ChannelKind.values or data.get("channel") == ChannelKind.STAFF:
            errors.append(
                FieldError("channel", "invalid", f"one of: {', '.join(c for c in ChannelKind.values if c != 'staff')}")
            )
        cleaned["channel"] = data.get("channel")
    channel = cleaned.get("channel", getattr(instance, "channel", ""))
    subject = cleaned.get("subject", getattr(instance, "subject", ""))
    if channel == ChannelKind.EMAIL and not subject and not errors:
        errors.append(FieldError("subject", "required", "an email needs a subject"))
    if block_mode and channel != ChannelKind.EMAIL:
        errors.append(FieldError("blocks", "wrong_channel", "blocks are for email; other channels have a body"))
    if block_mode:
        errors.extend(blocks.check_subject(subject))
    else:
        errors.extend(content.check_template(subject, cleaned.get("body", getattr(instance, "body", ""))))
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _clean_email_blocks(
    data: Mapping[str, Any], instance: ContentTemplate | None, errors: list[FieldError]
) -> tuple[list[dict[str, Any]], bool]:
    """The email's blocks as they will be stored ([] for a plain-text template) and whether the
    template is made of blocks; errors are added to ``errors``."""
    if "blocks" not in data:
        stored = list(instance.blocks) if instance else []
        return stored, bool(stored)
    if data["blocks"] in (None, []):
        return [], False
    try:
        return blocks.clean_blocks(data["blocks"]), True
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return [], True


@transaction.atomic
def save_template(*, data: Mapping[str, Any], actor: Actor, instance: ContentTemplate | None = None) -> ContentTemplate:
    cleaned = _clean_template(data, instance)
    template = instance or ContentTemplate()
    for field, value in cleaned.items():
        setattr(template, field, value)
    template.save()
    record(
        actor,
        AuditEntry.Action.CREATE if instance is None else AuditEntry.Action.UPDATE,
        obj=template,
        changes={k: v for k, v in cleaned.items() if k != "body"},
    )
    return template


@transaction.atomic
def delete_template(template: ContentTemplate, *, actor: Actor) -> None:
    in_use = [
        s.plan.name
        for s in Step.objects.filter(kind__in=MESSAGE_STEPS).select_related("plan")
        if any(v.get("template") == template.pk for v in s.config.get("variants", []))
    ]
    if in_use:
        raise Conflict.single("id", "in_use", f"used by {', '.join(sorted(set(in_use)))}")
    record(actor, AuditEntry.Action.DELETE, obj=template, changes={"name": template.name})
    template.delete()


def preview(template: ContentTemplate, customer: Customer) -> content.Content:
    """What ``customer`` would read, links and unsubscribe included as they will be sent."""
    unsubscribe = tracking.unsubscribe_url(customer.pk, template.channel)
    if template.blocks and template.channel == ChannelKind.EMAIL:
        return _render_blocks(template.subject, template.blocks, customer, unsubscribe)
    context = content.contexts_for([customer.pk], [template.subject, template.body])[customer.pk]
    context["unsubscribe_url"] = unsubscribe
    return content.Content(content.render(template.subject, context), content.render(template.body, context))


def preview_blocks(*, subject: str, blocks_data: Any, customer: Customer) -> content.Content:
    """An unsaved block email as ``customer`` would read it: the editor's live preview.

    Validated as saving would validate it, so the operator sees the same errors before saving.
    """
    cleaned = blocks.clean_blocks(blocks_data)
    errors = blocks.check_subject(subject)
    if errors:
        raise InvalidInput(errors)
    return _render_blocks(subject, cleaned, customer, tracking.unsubscribe_url(customer.pk, ChannelKind.EMAIL))


def _render_blocks(
    subject: str, email_blocks: list[dict[str, Any]], customer: Customer, unsubscribe: str
) -> content.Content:
    personal = blocks.personal_for([customer.pk], email_blocks)[customer.pk]
    rendered = blocks.render(email_blocks, personal, subject=subject, unsubscribe_url=unsubscribe)
    return content.Content(blocks.fill(subject, personal.fields), rendered.text, rendered.html)


def test_send(template: ContentTemplate, *, customer: Customer, to: str, actor: Actor) -> channels.Outcome:
    """Send the preview for ``customer`` to a staff address (by email, whatever the channel)."""
    try:
        validate_email(to)
    except ValidationError as exc:
        raise InvalidInput.single("to", "invalid", "a staff email address") from exc
    rendered = preview(template, customer)
    outgoing = channels.Outgoing(
        message_id=0,
        customer_id=customer.pk,
        channel=ChannelKind.EMAIL,
        purpose=Purpose.SERVICE,
        to=to,
        subject=f"[TEST {template.get_channel_display()}] {rendered.subject}",
        body=rendered.body,
        full_html=rendered.html,
    )
    outcome = channels.adapter_for(ChannelKind.STAFF).send([outgoing], channels.policy_for(ChannelKind.STAFF))[0]
    record(actor, AuditEntry.Action.UPDATE, obj=template, changes={"test_send_to": to, "customer": customer.pk})
    return outcome


# Channel policies -----------------------------------------------------------------------------

_POLICY_FIELDS = (
    "is_enabled",
    "gateway_url",
    "gateway_secret",
    "daily_cap",
    "weekly_cap",
    "quiet_start",
    "quiet_end",
    "max_attempts",
)


def _time(value: Any, field: str, errors: list[FieldError]) -> dt.time | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        errors.append(FieldError(field, "invalid", "a time such as 21:00"))
        return None


@transaction.atomic
def save_policy(channel: str, *, data: Mapping[str, Any], actor: Actor) -> ChannelPolicy:
    if channel not in ChannelKind.values:
        raise NotFound.single("channel", "not_found", f"no channel {channel!r}")
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in _POLICY_FIELDS]
    policy = ChannelPolicy.objects.filter(channel=channel).first() or channels.default_policy(channel)
    if "is_enabled" in data:
        policy.is_enabled = bool(data["is_enabled"])
    if "gateway_url" in data:
        url = str(data["gateway_url"] or "").strip()
        if url and not url.startswith(("http://", "https://")):
            errors.append(FieldError("gateway_url", "invalid", "an http(s) URL"))
        policy.gateway_url = url
    if data.get("gateway_secret"):
        policy.gateway_secret = str(data["gateway_secret"])
    for field, high in (("daily_cap", 100), ("weekly_cap", 500), ("max_attempts", 20)):
        if field in data:
            value = data[field]
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not (field != "max_attempts" or value >= 1)
                or not 0 <= value <= high
            ):
                errors.append(FieldError(field, "invalid", f"a whole number up to {high}"))
            else:
                setattr(policy, field, value)
    for field in ("quiet_start", "quiet_end"):
        if field in data:
            setattr(policy, field, _time(data[field], field, errors))
    if (policy.quiet_start is None) != (policy.quiet_end is None):
        errors.append(FieldError("quiet_end", "incomplete", "give both ends of the quiet hours, or neither"))
    if policy.daily_cap > policy.weekly_cap:
        errors.append(FieldError("weekly_cap", "invalid", "the weekly cap cannot be below the daily cap"))
    if errors:
        raise InvalidInput(errors)
    policy.save()
    record(
        actor,
        AuditEntry.Action.UPDATE,
        obj=policy,
        changes={k: str(v) for k, v in data.items() if k != "gateway_secret"},
    )
    return policy


# Unsubscribing ------------------------------------------------------------------


def unsubscribe(customer_id: int, channel: str) -> Customer:
    """The one-click link: withdraw marketing consent on that channel, no sign-in needed."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or channel not in CONSENT_CHANNEL:
        raise NotFound.single("token", "not_found", "this link is no longer valid")
    withdraw_marketing(
        customer,
        actor=Actor(source=Source.CUSTOMER, label="unsubscribe link"),
        channels=[CONSENT_CHANNEL[ChannelKind(channel)]],
        evidence=f"one-click unsubscribe ({channel})",
    )
    return customer
