"""The journey canvas: a plan drawn as a graph with each step's counts, edited in place.

The drawing is :func:`rapport.campaigns.journeys.graph.canvas` (laid out on the server, an SVG
in the page); the side panel is a plain form for the chosen step or the edge to add one on.
Every edit goes through :mod:`rapport.campaigns.journeys.editing` and ``services.save_plan``,
the same check the API and the step-list form pass. A split's rule is picked with the segment
builder (``segments/builder.js``), the same one segments and automatic tags use.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from rapport.campaigns import services
from rapport.campaigns.delivery.content import LEAVE_OUT_RUNNING_OUT
from rapport.campaigns.journeys import editing, graph
from rapport.campaigns.journeys.validation import TRIGGERS
from rapport.campaigns.models import MESSAGE_STEPS, Plan, Step
from rapport.campaigns.views import _builder_catalogue, _from_local, _to_local
from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import DomainError, FieldError
from rapport.core.requests import console_actor
from rapport.segments.views import PREVIEW_URL, builder_context

ENGAGEMENT_LABELS = {
    "opened": pgettext_lazy("message engagement", "opened"),
    "clicked": pgettext_lazy("message engagement", "clicked"),
    "delivered": pgettext_lazy("message engagement", "got"),
}


def _step_list(plan: Plan) -> list[dict[str, Any]]:
    return [{"kind": s.kind, "config": s.config} for s in plan.steps.order_by("position")]


def _config_from_post(kind: str, post: QueryDict, before: dict[str, Any]) -> dict[str, Any]:
    """A step's settings from the panel's fields (the service checks them)."""
    if kind == Step.Kind.WAIT:
        until = _from_local(post.get("until", ""))
        return {"until": until} if until else {"minutes": post.get("minutes", "")}
    if kind == Step.Kind.SPLIT:
        on = post.get("split_on", "rule")
        if on == "segment":
            return {"segment": post.get("segment", "")}
        if on == "engagement":
            return {
                "engagement": post.get("engagement", ""),
                "send_step": post.get("send_step", ""),
                "within_hours": post.get("within_hours", ""),
            }
        try:
            return {"rule": json.loads(post.get("rule") or "null")}
        except ValueError:
            return {"rule": None}
    if kind in MESSAGE_STEPS:
        variants = before.get("variants") or []
        template = post.get("template", "")
        if len(variants) <= 1 or template:
            variants = [{"key": "A", "template": template, "weight": 100}]
        config = {"channel": post.get("channel", ""), "purpose": post.get("purpose", "marketing"), "variants": variants}
        if post.get(LEAVE_OUT_RUNNING_OUT):
            config[LEAVE_OUT_RUNNING_OUT] = True
        return config
    if kind in (Step.Kind.ADD_TAG, Step.Kind.REMOVE_TAG):
        return {"tag": post.get("tag", "")}
    if kind == Step.Kind.NOTIFY:
        return {k: post.get(k, "") for k in ("email", "subject", "message")}
    if kind == Step.Kind.COUPON:
        return {"template": post.get("coupon_template", ""), "audience": post.get("audience", "")}
    if kind == Step.Kind.POINTS:
        return {"points": post.get("points", ""), "reason": post.get("reason", "")}
    if kind == Step.Kind.PROMOTION:
        return {"promotion": post.get("promotion", ""), "hours": post.get("hours", "")}
    return {}


def _edit(request: HttpRequest, plan: Plan) -> tuple[str, list[FieldError], dict[str, Any]]:
    """Apply the posted edit; answer the step to show next, or the errors and the panel to reopen."""
    post = request.POST
    steps = _step_list(plan)
    operation = post.get("op", "")
    panel: dict[str, Any] = {}
    try:
        if operation == "add":
            kind = post.get("kind", "")
            panel = {"source": post.get("source", ""), "branch": post.get("branch", ""), "kind": kind}
            config = _config_from_post(kind, post, {})
            changed, added = editing.insert(
                steps, source=panel["source"], branch=panel["branch"], kind=kind, config=config
            )
            target = str(added)
        elif operation == "change":
            position = post.get("position", "")
            panel = {"step": position}
            index = int(position) - 1 if position.isdigit() and 0 < int(position) <= len(steps) else None
            if index is None:
                raise DomainError.single("position", "invalid", _("a step number from 1 to %s") % len(steps))
            config = _config_from_post(steps[index]["kind"], post, steps[index]["config"])
            changed = editing.change(steps, position=position, config=config)
            target = position
        elif operation == "delete":
            changed = editing.remove(steps, position=post.get("position", ""))
            target = ""
        else:
            raise DomainError.single("op", "invalid", _("one of: add, change, delete"))
        services.save_plan(data={"steps": changed}, actor=console_actor(request), instance=plan)
    except DomainError as exc:
        return "", exc.errors, {**panel, "config": _posted_values(post)}
    return str(target), [], {}


def _posted_values(post: QueryDict) -> dict[str, Any]:
    values: dict[str, Any] = post.dict()
    values.pop("csrfmiddlewaretoken", None)
    return values


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summaries(plan: Plan, catalogue: dict[str, Any]) -> dict[int, str]:
    """One short line per step for its node: what it waits for, asks, sends or gives."""
    names = {
        key: {str(o["value"]): o["label"] for o in catalogue[key]}
        for key in ("templates", "tags", "segments", "channels")
    }
    coupons = {str(o["value"]): o["label"] for o in catalogue["rewards"]["coupon"][0]["choices"]}
    promotions = {str(o["value"]): o["label"] for o in catalogue["rewards"]["promotion"][0]["choices"]}
    lines = {}
    for step in plan.steps.order_by("position"):
        c = step.config
        text = ""
        if step.kind == Step.Kind.WAIT:
            text = _("until %s") % c["until"][:16] if c.get("until") else _("%s minutes") % c.get("minutes")
            if not c.get("until") and int(c.get("minutes") or 0) % 1440 == 0:
                text = _("%s days") % (int(c["minutes"]) // 1440)
        elif step.kind == Step.Kind.SPLIT:
            if c.get("engagement"):
                what = ENGAGEMENT_LABELS.get(str(c["engagement"]), "")
                text = _("%(what)s step %(step)s") % {"what": what, "step": c.get("send_step")}
            elif c.get("segment_name"):
                text = _("in %s") % c["segment_name"]
            else:
                count = _count_conditions(c.get("rule"))
                text = ngettext("%(n)s condition", "%(n)s conditions", count) % {"n": count}
        elif step.kind in MESSAGE_STEPS:
            variants = c.get("variants") or []
            channel = names["channels"].get(str(c.get("channel")), "")
            template = names["templates"].get(str(variants[0]["template"]), "") if variants else ""
            text = f"{channel}: {template}" if len(variants) == 1 else f"{channel} · A/B {len(variants)}"
        elif step.kind in (Step.Kind.ADD_TAG, Step.Kind.REMOVE_TAG):
            text = names["tags"].get(str(c.get("tag")), "")
        elif step.kind == Step.Kind.COUPON:
            text = coupons.get(str(c.get("template")), "")
        elif step.kind == Step.Kind.POINTS:
            text = _("%s points") % c.get("points")
        elif step.kind == Step.Kind.PROMOTION:
            text = promotions.get(str(c.get("promotion")), "")
        elif step.kind == Step.Kind.NOTIFY:
            text = str(c.get("email", ""))
        lines[step.position] = _short(text)
    return lines


def _count_conditions(rule: Any) -> int:
    if isinstance(rule, dict):
        children = rule.get("all") or rule.get("any")
        if isinstance(children, list):
            return sum(_count_conditions(child) for child in children)
        if "not" in rule:
            return _count_conditions(rule["not"])
        return 1
    return 0


def _panel_values(step: Step) -> dict[str, Any]:
    """What the panel's fields show for a saved step."""
    config = dict(step.config)
    values: dict[str, Any] = {**config}
    if step.kind == Step.Kind.WAIT and config.get("until"):
        values["until"] = _to_local(parse_aware_datetime(config["until"]))
    if step.kind == Step.Kind.SPLIT:
        values["split_on"] = (
            "engagement" if config.get("engagement") else "segment" if config.get("segment") else "rule"
        )
        values["rule"] = json.dumps(config.get("rule") or {"all": []})
    if step.kind in MESSAGE_STEPS:
        variants = config.get("variants") or []
        values["template"] = variants[0]["template"] if len(variants) == 1 else ""
        values["variant_count"] = len(variants)
    if step.kind == Step.Kind.COUPON:
        values["coupon_template"] = config.get("template")
    return values


@login_required
@permission_required("campaigns.view_plan", raise_exception=True)
def journey_canvas(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("segment"), pk=pk)
    errors: list[FieldError] = []
    panel: dict[str, Any] = {}
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_plan"):
            raise PermissionDenied
        shown, errors, panel = _edit(request, plan)
        if not errors:
            messages.success(request, _("Journey saved."))
            url = reverse("campaigns:canvas", args=[plan.pk])
            return redirect(f"{url}?step={shown}#panel" if shown else url)
    drawing = graph.canvas(plan)
    catalogue = _builder_catalogue()
    summaries = _summaries(plan, catalogue)
    for node in drawing["nodes"]:
        node.summary = summaries.get(node.step.position, "") if node.step else ""
    steps = {str(n.step.position): n.step for n in drawing["nodes"] if n.step is not None}
    selected = steps.get(request.GET.get("step", "") or str(panel.get("step", "")))
    adding = panel or {}
    if not selected and not panel and request.GET.get("add"):
        source, _sep, branch = request.GET["add"].partition(":")
        adding = {"source": source, "branch": branch or "next", "kind": request.GET.get("kind", "")}
    values = panel.get("config") or (_panel_values(selected) if selected else {})
    kind = selected.kind if selected else adding.get("kind", "")
    show_builder = plan.is_editable and kind == Step.Kind.SPLIT
    rule_errors = [
        {"field": "rule" + e.field.split(".rule", 1)[1], "message": e.message} for e in errors if ".rule" in e.field
    ]
    context: dict[str, Any] = {
        "nav": "campaigns",
        "plan": plan,
        "canvas": drawing,
        "selected": selected,
        "adding": adding if (adding.get("source") and not selected) else None,
        "kind": kind,
        "values": values,
        "errors": errors,
        "catalogue": catalogue,
        "step_kinds": [(v, label) for v, label in Step.Kind.choices],
        "send_steps": [s for s in plan.steps.order_by("position") if s.kind in MESSAGE_STEPS],
        "trigger_label": TRIGGERS.get((plan.trigger or {}).get("type", ""), ""),
        "editable": plan.is_editable and request.user.has_perm("campaigns.change_plan"),
        "show_builder": show_builder,
    }
    if show_builder:
        context.update(
            builder_context(rule_errors, preview_url=PREVIEW_URL, rule_input="split-rule", json_view="split-rule-json")
        )
    return render(request, "campaigns/canvas.html", context)
