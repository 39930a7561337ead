"""Sales opportunities: create and change one, move it through its pipeline's stages (won needs
the customer's order; lost a reason), record activities, and forecast value by stage, owner and
expected-close month.

Who sees which opportunity: whoever may see its customer (owner for sales staff, store for store
staff, everyone for unscoped roles), as for the customers themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.services import customer_scope
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.queries import customer_order
from rapport.commerce.validation import clean_currency
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.opportunities.models import (
    Activity,
    ActivityKind,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageOutcome,
)

TITLE_LENGTH = 200
TEXT_LENGTH = 4000
MAX_VALUE = Decimal("999999999999.99")
CENT = Decimal("0.01")
EARLIEST_CLOSE = dt.date(2000, 1, 1)
LATEST_CLOSE = dt.date(2099, 12, 31)
EDITABLE = ("title", "value", "currency", "expected_close", "probability", "owner")


def visible_opportunities(user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(customer_scope(user, prefix="customer__")).select_related(
        "customer", "stage", "pipeline", "owner", "store", "order"
    )


def get_opportunity(user: AbstractBaseUser | AnonymousUser | None, pk: int) -> Opportunity:
    found = visible_opportunities(user).filter(pk=pk).first()
    if found is None:
        raise NotFound.single("id", "not_found", _("No such opportunity."))
    return found


# The default pipeline, as migration 0002 seeds it (stage names are translated on display).
DEFAULT_STAGES = [
    ("Qualified", 10, StageOutcome.OPEN),
    ("Proposal", 40, StageOutcome.OPEN),
    ("Negotiation", 70, StageOutcome.OPEN),
    ("Won", 100, StageOutcome.WON),
    ("Lost", 0, StageOutcome.LOST),
]


@transaction.atomic
def default_pipeline() -> Pipeline:
    """The default pipeline; seeded again when there is none at all (a flushed database)."""
    pipeline = Pipeline.objects.order_by("-is_default", "pk").first()
    if pipeline is None:
        pipeline = Pipeline.objects.create(name="Sales", is_default=True)
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=name, position=index, probability=probability, outcome=outcome)
            for index, (name, probability, outcome) in enumerate(DEFAULT_STAGES)
        )
    return pipeline


def _pipeline(raw: Any) -> Pipeline:
    if raw in (None, ""):
        return default_pipeline()
    found = Pipeline.objects.filter(pk=int(raw) if str(raw).isdigit() else 0).first()
    if found is None:
        raise InvalidInput.single("pipeline", "not_found", _("No such pipeline."))
    return found


def _stage(pipeline: Pipeline, raw: Any) -> Stage:
    """A stage of ``pipeline`` (its first when none is named); one of another pipeline is an error."""
    stages = pipeline.stages.order_by("position", "pk")
    if raw in (None, ""):
        first = stages.first()
        if first is None:
            raise InvalidInput.single("stage", "required", _("This pipeline has no stages."))
        return first
    found = stages.filter(pk=int(raw) if str(raw).isdigit() else 0).first()
    if found is None:
        raise InvalidInput.single("stage", "wrong_pipeline", _("Not a stage of this opportunity's pipeline."))
    return found


def _value(raw: Any, errors: list[FieldError]) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        errors.append(FieldError("value", "invalid", _("Enter an amount such as 12800.00.")))
        return Decimal(0)
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        errors.append(FieldError("value", "out_of_range", _("An amount of 0 or more.")))
        return Decimal(0)
    if value != value.quantize(CENT):
        errors.append(FieldError("value", "invalid", _("At most two decimal places.")))
    return value.quantize(CENT) if value.is_finite() else Decimal(0)


def _close_date(raw: Any, errors: list[FieldError]) -> dt.date:
    if isinstance(raw, dt.date):
        value: dt.date | None = raw
    else:
        try:
            value = dt.date.fromisoformat(str(raw or "").strip())
        except ValueError:
            value = None
    if value is None or not EARLIEST_CLOSE <= value <= LATEST_CLOSE:
        errors.append(FieldError("expected_close", "invalid", _("A date between 2000 and 2099.")))
        return timezone.localdate()
    return value


def _currency(raw: Any, errors: list[FieldError]) -> str:
    """An ISO 4217 code (commerce's rule, and Latin letters only: 人民币 is not one)."""
    before = len(errors)
    currency = clean_currency(raw, field="currency", errors=errors)
    if len(errors) == before and not currency.isascii():
        errors.append(FieldError("currency", "invalid", _("An ISO 4217 currency code such as CNY.")))
    return currency


def _probability(raw: Any, errors: list[FieldError]) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not text.isdigit() or int(text) > 100:
        errors.append(FieldError("probability", "out_of_range", _("A whole number from 0 to 100.")))
        return None
    return int(text)


def _owner(raw: Any, errors: list[FieldError]) -> User | None:
    if raw in (None, ""):
        return None
    text = str(raw)
    user = User.objects.filter(Q(username=text) | Q(pk=int(text) if text.isdigit() else 0), is_active=True).first()
    if user is None:
        errors.append(FieldError("owner", "not_found", _("No such staff member.")))
    return user


def clean_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The editable fields given in ``data``, checked together (every bad field named at once)."""
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if not partial or "title" in data:
        title = str(data.get("title") or "").strip()
        if not title or len(title) > TITLE_LENGTH:
            errors.append(FieldError("title", "required", _("A title of 1 to 200 characters.")))
        cleaned["title"] = title
    if not partial or "value" in data:
        cleaned["value"] = _value(data.get("value"), errors)
    if not partial or "currency" in data:
        cleaned["currency"] = _currency(data.get("currency"), errors)
    if not partial or "expected_close" in data:
        cleaned["expected_close"] = _close_date(data.get("expected_close"), errors)
    if "probability" in data:
        cleaned["probability"] = _probability(data.get("probability"), errors)
    if "owner" in data:
        cleaned["owner"] = _owner(data.get("owner"), errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _activity(opportunity: Opportunity, kind: str, text: str, actor: Actor) -> Activity:
    return Activity.objects.create(
        opportunity=opportunity, kind=kind, text=text, by=actor.staff_user, at=timezone.now()
    )


@transaction.atomic
def create_opportunity(customer: Any, data: Mapping[str, Any], *, actor: Actor) -> Opportunity:
    """Open an opportunity in the named (or first) open stage of the pipeline; the owner is the one
    named, else the customer's owner, else whoever creates it."""
    fields = clean_fields(data)
    pipeline = _pipeline(data.get("pipeline"))
    stage = _stage(pipeline, data.get("stage"))
    if stage.outcome:
        raise InvalidInput.single("stage", "closed_stage", _("A new opportunity starts in an open stage."))
    probability = fields.pop("probability", None)
    owner = fields.pop("owner", None) or customer.owner or actor.staff_user
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        probability=stage.probability if probability is None else probability,
        owner=owner,
        store=customer.store,
        created_at=now,
        updated_at=now,
        **fields,
    )
    _activity(opportunity, ActivityKind.STAGE, stage.name, actor)
    record(actor, AuditEntry.Action.CREATE, obj=opportunity, changes={"customer_id": customer.pk, "stage": stage.name})
    return opportunity


@transaction.atomic
def update_opportunity(opportunity: Opportunity, data: Mapping[str, Any], *, actor: Actor) -> Opportunity:
    """Change the editable fields given; a closed opportunity keeps its figures."""
    fields = clean_fields({k: v for k, v in data.items() if k in EDITABLE}, partial=True)
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if locked.status != OpportunityStatus.OPEN and fields:
        raise Conflict.single("status", "closed", _("This opportunity is closed."))
    if fields.get("probability", 0) is None:
        fields["probability"] = locked.stage.probability
    if "owner" in fields and fields["owner"] is None:
        del fields["owner"]
    changes = {name: [str(getattr(locked, name)), str(value)] for name, value in fields.items()}
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.updated_at = timezone.now()
    locked.save()
    if changes:
        record(actor, AuditEntry.Action.UPDATE, obj=locked, changes=changes)
    return locked


@transaction.atomic
def move_stage(
    opportunity: Opportunity,
    stage_ref: Any,
    *,
    actor: Actor,
    order: Any = None,
    lost_reason: str = "",
    probability: Any = None,
) -> Opportunity:
    """Move to another stage of the same pipeline, taking its default probability (unless one is
    given). A won stage needs an order of this customer; a lost one a reason. Recorded as an activity."""
    locked = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    stage = _stage(locked.pipeline, stage_ref if stage_ref not in (None, "") else "x")
    errors: list[FieldError] = []
    chosen = _probability(probability, errors)
    linked = None
    if stage.outcome == StageOutcome.WON:
        ref = str(order or "").strip()
        linked = customer_order(locked.customer_id, int(ref)) if ref.isdigit() else None
        if linked is None:
            errors.append(FieldError("order", "order_required", _("Winning needs an order of this customer.")))
    reason = str(lost_reason or "").strip()
    if stage.outcome == StageOutcome.LOST and not reason:
        errors.append(FieldError("lost_reason", "required", _("Say why it was lost.")))
    if len(reason) > 300:
        errors.append(FieldError("lost_reason", "too_long", _("At most 300 characters.")))
    if errors:
        raise InvalidInput(errors)
    before = locked.stage.name
    locked.stage = stage
    locked.probability = {StageOutcome.WON: 100, StageOutcome.LOST: 0}.get(
        StageOutcome(stage.outcome), stage.probability if chosen is None else chosen
    )
    locked.status = {StageOutcome.WON: OpportunityStatus.WON, StageOutcome.LOST: OpportunityStatus.LOST}.get(
        StageOutcome(stage.outcome), OpportunityStatus.OPEN
    )
    locked.order = linked if stage.outcome == StageOutcome.WON else None
    locked.lost_reason = reason if stage.outcome == StageOutcome.LOST else ""
    locked.updated_at = timezone.now()
    locked.closed_at = locked.updated_at if stage.outcome else None
    locked.save()
    _activity(locked, ActivityKind.STAGE, f"{before} → {stage.name}", actor)
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"stage": [before, stage.name]})
    return locked


def add_activity(opportunity: Opportunity, kind: Any, text: Any, *, actor: Actor) -> Activity:
    kinds = [ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.MEETING]
    if kind not in kinds:
        raise InvalidInput.single("kind", "invalid", _("One of: %(choices)s.") % {"choices": ", ".join(kinds)})
    body = str(text or "").strip()
    if not body or len(body) > TEXT_LENGTH:
        raise InvalidInput.single("text", "required", _("A text of 1 to 4000 characters."))
    return _activity(opportunity, str(kind), body, actor)


WEIGHTED = ExpressionWrapper(F("value") * F("probability"), output_field=DecimalField(max_digits=20, decimal_places=2))


def _rows(opportunities: QuerySet[Opportunity], *keys: str) -> list[dict[str, Any]]:
    found = (
        opportunities.values(*keys, "currency")
        .annotate(count=Count("pk"), total=Sum("value"), weighted_percent=Sum(WEIGHTED))
        .order_by(*keys, "currency")
    )
    return [
        {
            **{key: row[key] for key in keys},
            "currency": row["currency"],
            "count": row["count"],
            "total": Decimal(row["total"] or 0).quantize(CENT),
            "weighted": (Decimal(row["weighted_percent"] or 0) / 100).quantize(CENT),
        }
        for row in found
    ]


def forecast(opportunities: QuerySet[Opportunity], pipeline: Pipeline) -> dict[str, list[dict[str, Any]]]:
    """Count, total and weighted value (value × probability) of ``pipeline``'s opportunities: per
    stage (every stage, empty ones too), and of the open ones per owner and expected-close month.
    Per currency: amounts in different currencies are never added up."""
    mine = opportunities.filter(pipeline=pipeline)
    by_stage = {(row["stage"], row["currency"]): row for row in _rows(mine, "stage")}
    stages = []
    for stage in pipeline.stages.order_by("position", "pk"):
        rows = [row for (stage_id, _c), row in by_stage.items() if stage_id == stage.pk]
        for row in rows or [
            {"stage": stage.pk, "currency": "", "count": 0, "total": Decimal("0.00"), "weighted": Decimal("0.00")}
        ]:
            stages.append({**row, "stage": stage.pk, "stage_name": stage.name})
    open_ones = mine.filter(status=OpportunityStatus.OPEN)
    owners = [
        {**row, "owner": row["owner_name"] or ""}
        for row in _rows(open_ones.annotate(owner_name=F("owner__username")), "owner_name")
    ]
    months = [
        {**row, "month": row["month"].strftime("%Y-%m")}
        for row in _rows(open_ones.annotate(month=TruncMonth("expected_close")), "month")
    ]
    for row in owners:
        del row["owner_name"]
    return {"stages": stages, "owners": owners, "months": months}


def pipeline_or_default(pk: int | None) -> Pipeline:
    if pk is None:
        return default_pipeline()
    found = Pipeline.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound.single("pipeline", "not_found", _("No such pipeline."))
    return found


@transaction.atomic
def change_and_move(
    opportunity: Opportunity,
    changes: Mapping[str, Any],
    *,
    stage: Any,
    order: Any,
    lost_reason: str,
    actor: Actor,
) -> Opportunity:
    """One request's edits and stage move, together or not at all (what a form and PATCH send)."""
    probability = changes.get("probability")
    edits = {k: v for k, v in changes.items() if not (k == "probability" and stage not in (None, ""))}
    if edits:
        opportunity = update_opportunity(opportunity, edits, actor=actor)
    if stage not in (None, "") and str(stage) != str(opportunity.stage_id):
        opportunity = move_stage(
            opportunity, stage, actor=actor, order=order, lost_reason=lost_reason, probability=probability
        )
    return opportunity
