"""Checking a plan before it is saved: its fields, its trigger and every step's settings.

Errors name the exact place (``steps.2.variants.0.template``) so the builder and the API can
point at it; nothing is written until the whole plan is valid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.campaigns.delivery import content
from rapport.campaigns.journeys import recommending, rewards
from rapport.campaigns.models import (
    CUSTOMER_CHANNELS,
    GATEWAY_CHANNELS,
    MESSAGE_STEPS,
    ChannelKind,
    ContentTemplate,
    Plan,
    Purpose,
    Step,
)
from rapport.clienteling import steps as task_steps
from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import FieldError, InvalidInput
from rapport.promotions import steps as promotion_steps
from rapport.segments.models import Segment
from rapport.segments.rules import clean_rule

MAX_STEPS = 50
MAX_VARIANTS = 5
MAX_WAIT_MINUTES = 366 * 24 * 60
MAX_ENGAGEMENT_HOURS = 90 * 24
# What a split on engagement can ask of an earlier send step's message.
ENGAGEMENTS = ("opened", "clicked", "delivered")

TRIGGERS: dict[str, str | Promise] = {
    "event": _("a tracked event (name)"),
    "abandoned_cart": _("a cart left without an order"),
    "first_purchase": _("the customer's first purchase"),
    "order_completed": _("an order reaching completed"),
    "segment_entered": _("entering a saved segment"),
    "birthday": _("a birthday (days before)"),
    "inactivity": _("no purchase for N days"),
    "back_in_stock": _("a product the customer waited for is back in stock"),
    **rewards.TRIGGERS,
}
PLAN_FIELDS = (
    "name",
    "description",
    "kind",
    "segment",
    "trigger",
    "reentry",
    "starts_at",
    "recurrence",
    "ends_at",
    "control_percent",
    "attribution_days",
    "dedup_group",
    "dedup_hours",
    "respect_quiet_hours",
    "steps",
)


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and low <= value <= high else None


def _by_id(queryset: Any, value: Any) -> Any:
    """The row whose id ``value`` names, or None (also for anything that is not an id)."""
    pk = _int(value, 1, 2**63 - 1)
    return queryset.filter(pk=pk).first() if pk is not None else None


def _when(value: Any, field: str, errors: list[FieldError]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_aware_datetime(value)
    except Exception:
        errors.append(FieldError(field, "invalid", "a date and time with its offset, e.g. 2026-12-01T09:00:00+08:00"))
        return None


def clean_trigger(kind: str, trigger: Any, errors: list[FieldError]) -> dict[str, Any]:
    if kind != Plan.Kind.JOURNEY:
        return {}
    if not isinstance(trigger, Mapping) or trigger.get("type") not in TRIGGERS:
        errors.append(FieldError("trigger.type", "invalid", f"one of: {', '.join(TRIGGERS)}"))
        return {}
    kind_of = str(trigger["type"])
    cleaned: dict[str, Any] = {"type": kind_of}
    if kind_of == "event":
        name = str(trigger.get("event") or "").strip()
        if not name or len(name) > 200:
            errors.append(FieldError("trigger.event", "required", "the event name, e.g. Product Viewed"))
        cleaned["event"] = name
    elif kind_of == "abandoned_cart":
        minutes = _int(trigger.get("idle_minutes", 60), 5, 7 * 24 * 60)
        if minutes is None:
            errors.append(FieldError("trigger.idle_minutes", "invalid", "minutes from 5 to 10080"))
        cleaned["idle_minutes"] = minutes
    elif kind_of == "segment_entered":
        segment = _by_id(Segment.objects.filter(is_template=False), trigger.get("segment"))
        if segment is None:
            errors.append(FieldError("trigger.segment", "not_found", "a saved segment's id"))
        cleaned["segment"] = segment.pk if segment else None
    elif kind_of == "birthday" or kind_of in rewards.TRIGGERS:
        days = _int(trigger.get("days_before", 0), 0, 60)
        if days is None:
            errors.append(FieldError("trigger.days_before", "invalid", "days from 0 to 60"))
        cleaned["days_before"] = days
    elif kind_of == "inactivity":
        days = _int(trigger.get("days"), 7, 3650)
        if days is None:
            errors.append(FieldError("trigger.days", "invalid", "days without a purchase, 7 to 3650"))
        cleaned["days"] = days
    return cleaned


def _clean_send(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    channel = config.get("channel")
    if channel == ChannelKind.CALL:
        errors.append(FieldError(f"{path}.channel", "invalid", "outbound calls are tasks: use a create-task step"))
    elif channel not in CUSTOMER_CHANNELS:
        errors.append(FieldError(f"{path}.channel", "invalid", f"one of: {', '.join(CUSTOMER_CHANNELS)}"))
    purpose = config.get("purpose", Purpose.MARKETING)
    if purpose not in Purpose.values:
        errors.append(FieldError(f"{path}.purpose", "invalid", f"one of: {', '.join(Purpose.values)}"))
    variants = config.get("variants")
    if not isinstance(variants, list) or not 1 <= len(variants) <= MAX_VARIANTS:
        errors.append(FieldError(f"{path}.variants", "invalid", f"1 to {MAX_VARIANTS} variants"))
        return {"channel": channel, "purpose": purpose, "variants": []}
    cleaned_variants = []
    keys: set[str] = set()
    for index, variant in enumerate(variants):
        where = f"{path}.variants.{index}"
        if not isinstance(variant, Mapping):
            errors.append(FieldError(where, "invalid", "an object with key, template and weight"))
            continue
        key = str(variant.get("key") or chr(ord("A") + index)).strip()[:20]
        if key in keys:
            errors.append(FieldError(f"{where}.key", "duplicate", f"variant {key} twice"))
        keys.add(key)
        template = _by_id(ContentTemplate.objects.all(), variant.get("template"))
        if template is None:
            errors.append(FieldError(f"{where}.template", "not_found", "a content template's id"))
        elif channel in CUSTOMER_CHANNELS and template.channel != channel:
            errors.append(
                FieldError(f"{where}.template", "wrong_channel", f"{template} is written for {template.channel}")
            )
        weight = _int(variant.get("weight", 100 if len(variants) == 1 else None), 1, 100)
        if weight is None:
            errors.append(FieldError(f"{where}.weight", "invalid", "a share from 1 to 100 (%)"))
        cleaned_variants.append({"key": key, "template": template.pk if template else None, "weight": weight})
    weights = [v["weight"] for v in cleaned_variants if isinstance(v["weight"], int)]
    if len(variants) > 1 and len(weights) == len(cleaned_variants):
        total = sum(weights)
        if total != 100:
            errors.append(FieldError(f"{path}.variants", "weights", f"the split must add up to 100%, not {total}%"))
    cleaned = {"channel": channel, "purpose": purpose, "variants": cleaned_variants}
    if config.get(content.LEAVE_OUT_RUNNING_OUT):
        cleaned[content.LEAVE_OUT_RUNNING_OUT] = True
    return cleaned


def _clean_engagement(
    path: str, config: Mapping[str, Any], earlier: Sequence[Any], errors: list[FieldError]
) -> dict[str, Any]:
    """A split on how the customer engaged with an earlier send step's message."""
    engagement = config.get("engagement")
    if engagement not in ENGAGEMENTS:
        errors.append(FieldError(f"{path}.engagement", "invalid", f"one of: {', '.join(ENGAGEMENTS)}"))
    position = _int(config.get("send_step"), 1, len(earlier))
    send = earlier[position - 1] if position is not None else None
    if not isinstance(send, Mapping) or send.get("kind") not in MESSAGE_STEPS:
        errors.append(FieldError(f"{path}.send_step", "not_found", "the number of an earlier send step"))
        position = None
    elif engagement == "delivered" and (send.get("config") or {}).get("channel") not in GATEWAY_CHANNELS:
        errors.append(
            FieldError(
                f"{path}.engagement",
                "not_reported",
                f"delivery is reported by gateway channels only ({', '.join(GATEWAY_CHANNELS)})",
            )
        )
    within = config.get("within_hours")
    hours = None
    if within not in (None, ""):
        hours = _int(within, 1, MAX_ENGAGEMENT_HOURS)
        if hours is None:
            errors.append(FieldError(f"{path}.within_hours", "invalid", f"hours from 1 to {MAX_ENGAGEMENT_HOURS}"))
    return {"engagement": engagement, "send_step": position, "within_hours": hours}


def _clean_wait(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    if config.get("until"):
        until = _when(config.get("until"), f"{path}.until", errors)
        return {"until": until.isoformat() if until else None}
    minutes = _int(config.get("minutes"), 1, MAX_WAIT_MINUTES)
    if minutes is None:
        errors.append(FieldError(f"{path}.minutes", "invalid", "minutes from 1 to a year, or an until time"))
    return {"minutes": minutes}


def _clean_split_condition(
    path: str, config: Mapping[str, Any], earlier: Sequence[Any], errors: list[FieldError]
) -> dict[str, Any]:
    """What a split asks: how an earlier message was engaged with, a saved segment, or a rule."""
    if config.get("engagement") not in (None, ""):
        return _clean_engagement(path, config, earlier, errors)
    if config.get("segment") not in (None, ""):
        # "is in this saved segment" — the segment's rule as it reads now, kept with the step
        segment = _by_id(Segment.objects.filter(is_template=False), config.get("segment"))
        if segment is None:
            errors.append(FieldError(f"{path}.segment", "not_found", "a saved segment's id"))
            return {}
        return {"segment": segment.pk, "segment_name": segment.name, "rule": segment.rule}
    try:
        return {"rule": clean_rule(config.get("rule"), f"{path}.rule")}
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return {}


def _clean_branch_target(path: str, target: Any, index: int, count: int, errors: list[FieldError]) -> int | str | None:
    """Where a split's branch goes: the next step (None), the end, or another step's number."""
    if target in (None, "", "next"):
        return None
    if target == "end":
        return "end"
    position = _int(target, 1, count)
    if position is None or position == index + 1:
        errors.append(FieldError(path, "invalid", f"a step number 1–{count} (not this one), next or end"))
    return position


def _clean_split(
    path: str, config: Mapping[str, Any], index: int, count: int, earlier: Sequence[Any], errors: list[FieldError]
) -> dict[str, Any]:
    cleaned = _clean_split_condition(path, config, earlier, errors)
    for branch in ("yes", "no"):
        cleaned[branch] = _clean_branch_target(f"{path}.{branch}", config.get(branch), index, count, errors)
    return cleaned


def _clean_tag_step(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    from rapport.tags.models import Tag

    tag = _by_id(Tag.objects.all(), config.get("tag"))
    if tag is None:
        errors.append(FieldError(f"{path}.tag", "not_found", "a tag's id"))
    elif tag.is_automatic or not tag.is_active:
        errors.append(FieldError(f"{path}.tag", "not_manual", f"{tag} is automatic or inactive"))
    return {"tag": tag.pk if tag else None}


def _clean_notify(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    email = str(config.get("email") or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors.append(FieldError(f"{path}.email", "invalid", "the staff address to notify"))
    message = str(config.get("message") or "").strip()
    if not message:
        errors.append(FieldError(f"{path}.message", "required", "what to tell staff (may use {{ customer.name }})"))
    errors.extend(FieldError(f"{path}.message", e.code, e.message) for e in content.check_template("", message))
    return {"email": email, "subject": str(config.get("subject") or "")[:200], "message": message}


def _clean_step(index: int, step: Any, count: int, earlier: Sequence[Any], errors: list[FieldError]) -> dict[str, Any]:
    path = f"steps.{index}"
    if not isinstance(step, Mapping) or step.get("kind") not in Step.Kind.values:
        errors.append(FieldError(f"{path}.kind", "invalid", f"one of: {', '.join(Step.Kind.values)}"))
        return {"kind": None, "config": {}}
    kind = str(step["kind"])
    config = step.get("config") or {}
    if not isinstance(config, Mapping):
        errors.append(FieldError(f"{path}.config", "invalid", "an object"))
        return {"kind": kind, "config": {}}
    cleaned: dict[str, Any] = {}
    if kind == Step.Kind.WAIT:
        cleaned = _clean_wait(path, config, errors)
    elif kind == Step.Kind.SPLIT:
        cleaned = _clean_split(path, config, index, count, earlier, errors)
    elif kind in MESSAGE_STEPS:
        cleaned = _clean_send(path, config, errors)
        if kind == Step.Kind.RECOMMEND:
            recommending.check_templates(path, cleaned, errors)
    elif kind in (Step.Kind.ADD_TAG, Step.Kind.REMOVE_TAG):
        cleaned = _clean_tag_step(path, config, errors)
    elif kind == Step.Kind.NOTIFY:
        cleaned = _clean_notify(path, config, errors)
    elif kind in (Step.Kind.COUPON, Step.Kind.POINTS):
        cleaned = rewards.clean_step(kind, path, config, errors)
    elif kind == Step.Kind.TASK:
        cleaned = task_steps.clean_config(path, config, errors)
    elif kind == Step.Kind.PROMOTION:
        cleaned = promotion_steps.clean_config(path, config, errors)
    if kind not in (Step.Kind.SPLIT, Step.Kind.END):
        # Where the step leads when that is not simply the next step (a branch the canvas drew).
        target = _clean_branch_target(f"{path}.next", config.get("next"), index, count, errors)
        if target is not None:
            cleaned["next"] = target
    return {"kind": kind, "config": cleaned}


_ACTION_STEPS = (
    *MESSAGE_STEPS,
    Step.Kind.NOTIFY,
    Step.Kind.COUPON,
    Step.Kind.POINTS,
    Step.Kind.ADD_TAG,
    Step.Kind.REMOVE_TAG,
    Step.Kind.TASK,
    Step.Kind.PROMOTION,
)
_PLAN_NUMBER_BOUNDS = {"control_percent": (0, 50), "attribution_days": (1, 90), "dedup_hours": (1, 24 * 30)}


def _clean_plan_segment(
    data: Mapping[str, Any], instance: Plan | None, kind: Any, cleaned: dict[str, Any], errors: list[FieldError]
) -> None:
    """The audience: a saved segment, which a one-off or recurring send cannot do without."""
    if instance is None or "segment" in data:
        segment_id = data.get("segment")
        segment = None
        if segment_id not in (None, ""):
            segment = _by_id(Segment.objects.filter(is_template=False), segment_id)
            if segment is None:
                errors.append(FieldError("segment", "not_found", f"no saved segment {segment_id!r}"))
        cleaned["segment"] = segment
    segment_given = cleaned["segment"] if "segment" in cleaned else getattr(instance, "segment", None)
    if (
        kind in (Plan.Kind.ONE_OFF, Plan.Kind.RECURRING)
        and segment_given is None
        and not any(e.field == "segment" for e in errors)
    ):
        errors.append(FieldError("segment", "required", "a send goes to a saved segment"))


def _clean_plan_schedule(
    data: Mapping[str, Any], instance: Plan | None, kind: Any, cleaned: dict[str, Any], errors: list[FieldError]
) -> None:
    """Re-entry, the start and end times and the recurrence (only a recurring plan keeps one)."""
    if "reentry" in data:
        if data["reentry"] not in Plan.Reentry.values:
            errors.append(FieldError("reentry", "invalid", f"one of: {', '.join(Plan.Reentry.values)}"))
        cleaned["reentry"] = data["reentry"]
    for field in ("starts_at", "ends_at"):
        if field in data:
            cleaned[field] = _when(data[field], field, errors)
    if "recurrence" in data:
        cleaned["recurrence"] = data["recurrence"] or ""
    recurrence = cleaned.get("recurrence", getattr(instance, "recurrence", ""))
    if kind == Plan.Kind.RECURRING and recurrence not in Plan.Recurrence.values:
        errors.append(FieldError("recurrence", "invalid", f"one of: {', '.join(Plan.Recurrence.values)}"))
    if kind != Plan.Kind.RECURRING:
        cleaned["recurrence"] = ""


def _clean_plan_limits(data: Mapping[str, Any], cleaned: dict[str, Any], errors: list[FieldError]) -> None:
    """The control group, attribution window, de-duplication and quiet hours."""
    for field, (low, high) in _PLAN_NUMBER_BOUNDS.items():
        if field in data:
            value = _int(data[field], low, high)
            if value is None:
                errors.append(FieldError(field, "invalid", f"a whole number from {low} to {high}"))
            cleaned[field] = value
    if "dedup_group" in data:
        group = str(data.get("dedup_group") or "").strip()
        if len(group) > 40 or not all(ch.isalnum() or ch in "-_" for ch in group):
            errors.append(FieldError("dedup_group", "invalid", "letters, digits, - and _ (at most 40)"))
        cleaned["dedup_group"] = group
    if "respect_quiet_hours" in data:
        cleaned["respect_quiet_hours"] = bool(data["respect_quiet_hours"])


def _clean_steps(steps: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        errors.append(FieldError("steps", "invalid", f"1 to {MAX_STEPS} steps"))
        steps = []
    cleaned = [_clean_step(i, step, len(steps), steps[:i], errors) for i, step in enumerate(steps)]
    if steps and not any(s["kind"] in _ACTION_STEPS for s in cleaned):
        errors.append(FieldError("steps", "no_action", "a plan needs at least one step that does something"))
    return cleaned


def clean_plan(data: Mapping[str, Any], instance: Plan | None) -> dict[str, Any]:
    errors = [FieldError(k, "unknown_field", "unknown field") for k in data if k not in PLAN_FIELDS]
    cleaned: dict[str, Any] = {}

    def current(field: str) -> Any:
        return data[field] if field in data else getattr(instance, field, None)

    if instance is None or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 120:
            errors.append(FieldError("name", "required", "a name of 1 to 120 characters"))
        cleaned["name"] = name
    if "description" in data:
        cleaned["description"] = str(data.get("description") or "").strip()
    kind = current("kind") or Plan.Kind.ONE_OFF
    if kind not in Plan.Kind.values:
        errors.append(FieldError("kind", "invalid", f"one of: {', '.join(Plan.Kind.values)}"))
    cleaned["kind"] = kind
    _clean_plan_segment(data, instance, kind, cleaned, errors)
    cleaned["trigger"] = clean_trigger(kind, current("trigger"), errors)
    _clean_plan_schedule(data, instance, kind, cleaned, errors)
    _clean_plan_limits(data, cleaned, errors)
    if instance is None or "steps" in data:
        cleaned["steps"] = _clean_steps(data.get("steps"), errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned
