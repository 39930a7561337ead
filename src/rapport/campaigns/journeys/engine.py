"""The execution engine: customers enter plans, move through steps, and sends get planned.

Everything is set-based. Entering a plan is one ``INSERT … SELECT`` over the segment's SQL
(with a random hold-out and A/B bucket drawn by the database); a step handles up to
``CHUNK`` enrollments at once; a send step writes its messages with one ``INSERT … SELECT``
whose guards (:mod:`rapport.campaigns.delivery.guards`: consent, bounced addresses, frequency caps,
cross-plan de-duplication; and quiet hours) are SQL expressions, never a per-customer query.

Resuming safely: each chunk is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and handled in
one transaction that both writes the step's effects and moves the enrollments on. A worker
killed mid-chunk rolls the whole chunk back, and the next run does it again from the same
step; the unique constraint on (enrollment, step) makes a send exactly-once even so.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from rapport.campaigns.delivery import channels, guards
from rapport.campaigns.journeys import recommending, rewards
from rapport.campaigns.models import (
    ChannelKind,
    ChannelPolicy,
    Enrollment,
    Message,
    Plan,
    Purpose,
    SplitDecision,
    Step,
)
from rapport.clienteling import steps as task_steps
from rapport.core.actor import Actor
from rapport.core.errors import DomainError
from rapport.customers.models import Customer, Store
from rapport.promotions import steps as promotion_steps
from rapport.segments.compiler import members

logger = logging.getLogger(__name__)

CHUNK = 5000
MAX_ROUNDS = 1000


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _dt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _random_bucket_sql() -> str:
    """A random whole number 0–9999 drawn by the database, per row."""
    if connection.vendor == "postgresql":
        return f"floor(random() * {Enrollment.BUCKETS})::int"
    return f"abs(random()) % {Enrollment.BUCKETS}"


def first_step(plan: Plan) -> Step | None:
    return plan.steps.order_by("position").first()


# Entering a plan -------------------------------------------------------------------------------


def in_audience(plan: Plan, customers: QuerySet[Customer], now: dt.datetime) -> QuerySet[Customer]:
    """Journeys with a segment admit only its members; the rule is checked as they enter."""
    if plan.segment is not None:
        return members(plan.segment.rule, now=now, base=customers)
    return customers


def enroll(plan: Plan, customers: QuerySet[Customer], *, entry_key: str, now: dt.datetime) -> int:
    """Put ``customers`` into the plan at its first step, once per ``entry_key``; answer how many entered.

    Two statements: the customers' SQL becomes the source of an ``INSERT … SELECT … ON CONFLICT
    DO NOTHING`` in which the database draws each customer's random bucket, then the new rows
    whose bucket falls below the control percentage become the hold-out group (drawing once and
    deciding after keeps SQLite, which may evaluate ``random()`` per reference, consistent).
    Call inside the caller's transaction.
    """
    start = first_step(plan)
    key = "once" if plan.reentry == Plan.Reentry.ONCE else entry_key
    sql, params = customers.order_by().values(member_id=F("pk")).query.sql_with_params()
    columns = "plan_id, customer_id, entry_key, state, step_id, bucket, context, entered_at"
    statement = (
        f"INSERT INTO {_quote(Enrollment._meta.db_table)} ({columns}) "  # noqa: S608 - names quoted, values bound
        f"SELECT %s, chosen.member_id, %s, %s, %s, {_random_bucket_sql()}, '{{}}', %s "
        f"FROM ({sql}) AS chosen WHERE 1 = 1 "
        "ON CONFLICT (plan_id, customer_id, entry_key) DO NOTHING"
    )
    moment = _dt(now)
    values = [plan.pk, key, Enrollment.State.ACTIVE, start.pk if start else None, moment]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*values, *params])
        entered = int(cursor.rowcount)
    if plan.control_percent and entered:
        Enrollment.objects.filter(
            plan=plan,
            entry_key=key,
            entered_at=now,
            state=Enrollment.State.ACTIVE,
            bucket__lt=plan.control_percent * Enrollment.BUCKETS // 100,
        ).update(state=Enrollment.State.HELD_OUT, step=None)
    return entered


@dataclass(frozen=True)
class Entry:
    customer_id: int
    key: str
    context: Mapping[str, Any]


def enroll_entries(plan: Plan, entries: Sequence[Entry], *, now: dt.datetime) -> int:
    """Triggered entries, each with its own key and context (the order, the cart…)."""
    if not entries:
        return 0
    admitted = set(
        in_audience(plan, Customer.objects.filter(pk__in={e.customer_id for e in entries}), now).values_list(
            "pk", flat=True
        )
    )
    start = first_step(plan)
    control = plan.control_percent * Enrollment.BUCKETS // 100
    rows = []
    for entry in entries:
        if entry.customer_id not in admitted:
            continue
        bucket = secrets.randbelow(Enrollment.BUCKETS)
        held = bucket < control
        rows.append(
            Enrollment(
                plan=plan,
                customer_id=entry.customer_id,
                entry_key="once" if plan.reentry == Plan.Reentry.ONCE else entry.key[:80],
                state=Enrollment.State.HELD_OUT if held else Enrollment.State.ACTIVE,
                step=None if held else start,
                bucket=bucket,
                context=dict(entry.context),
                entered_at=now,
            )
        )
    before = Enrollment.objects.filter(plan=plan).count()
    Enrollment.objects.bulk_create(rows, ignore_conflicts=True)
    return Enrollment.objects.filter(plan=plan).count() - before


# Moving through steps ----------------------------------------------------------------------------


class Steps:
    """A plan's steps by position, and where each one leads."""

    def __init__(self, plan: Plan):
        self.ordered = list(plan.steps.order_by("position"))
        self.by_position = {step.position: step for step in self.ordered}

    def following(self, step: Step) -> Step | None:
        """The next step by position (None after the last one)."""
        later = [s for s in self.ordered if s.position > step.position]
        return later[0] if later else None

    def after(self, step: Step) -> Step | None:
        """Where a step that is not a split leads: the step its ``next`` names (a number, or "end"),
        else the next step by position. The canvas draws these same edges."""
        target = step.config.get("next") if step.kind != Step.Kind.SPLIT else None
        if target is not None and target != "":
            return None if target == "end" else self.by_position.get(int(target))
        return self.following(step)

    def at(self, position: Any, step: Step) -> Step | None:
        """The step a split branch names; a missing or empty branch continues with the next step."""
        if position in (None, ""):
            return self.following(step)
        if position == "end":
            return None
        return self.by_position.get(int(position))


def _move(ids: Sequence[int], target: Step | None, now: dt.datetime) -> None:
    rows = Enrollment.objects.filter(pk__any_of=ids)
    if target is None:
        rows.update(state=Enrollment.State.DONE, step=None, wake_at=None, finished_at=now)
    else:
        rows.update(state=Enrollment.State.ACTIVE, step=target, wake_at=None)


def wait_until(config: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    if config.get("until"):
        return dt.datetime.fromisoformat(str(config["until"]))
    return now + dt.timedelta(minutes=int(config.get("minutes", 0)))


def _handle_wait(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    arriving = [pk for pk, _c, state, wake in rows if wake is None]
    woken = [pk for pk, _c, state, wake in rows if wake is not None and wake <= now]
    if arriving:
        Enrollment.objects.filter(pk__any_of=arriving).update(
            state=Enrollment.State.WAITING, wake_at=wait_until(step.config, now)
        )
    if woken:
        _move(woken, steps.after(step), now)


ENGAGED = {
    "opened": Q(opened_at__isnull=False),
    "clicked": Q(clicked_at__isnull=False),
    "delivered": Q(delivered_at__isnull=False, status=Message.Status.DELIVERED),
}
ENGAGED_AT = {"opened": "opened_at", "clicked": "clicked_at", "delivered": "delivered_at"}


def _split_on_engagement(
    step: Step, enrollment_ids: list[int], steps: Steps, now: dt.datetime
) -> tuple[set[int], dict[int, dt.datetime]]:
    """Who engaged with the earlier send step's message, and who must wait for the window to close.

    With ``within_hours``, engagement counts only within that many hours of the send, and a
    customer who has not engaged yet while the window is still open waits at the split until it
    closes (from the send, or from when a message held back — quiet hours — was due).
    """
    config = step.config
    send = steps.by_position.get(int(config["send_step"]))
    if send is None:
        return set(), {}
    engagement = str(config["engagement"])
    window = dt.timedelta(hours=int(config["within_hours"])) if config.get("within_hours") else None
    sent = Message.objects.filter(step=send, enrollment__any_of=enrollment_ids)
    engaged_q = ENGAGED[engagement]
    if window is not None:
        engaged_q &= Q(**{f"{ENGAGED_AT[engagement]}__lte": F("sent_at") + window})
    engaged = set(sent.filter(engaged_q).values_list("enrollment_id", flat=True))
    waiting: dict[int, dt.datetime] = {}
    if window is not None:
        pending = sent.exclude(enrollment__in=engaged).filter(
            status__in=(Message.Status.PLANNED, Message.Status.SENT, Message.Status.DELIVERED)
        )
        for enrollment_id, sent_at, not_before in pending.values_list("enrollment_id", "sent_at", "not_before"):
            closes = (sent_at or not_before) + window
            if closes > now:
                waiting[enrollment_id] = closes
    return engaged, waiting


def _handle_split(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    if step.config.get("engagement"):
        matched, waiting = _split_on_engagement(step, [pk for pk, *_rest in rows], steps, now)
        yes = [pk for pk, *_rest in rows if pk in matched]
        no = [pk for pk, *_rest in rows if pk not in matched and pk not in waiting]
        for wake_at, ids in _grouped(waiting).items():
            Enrollment.objects.filter(pk__any_of=ids).update(state=Enrollment.State.WAITING, wake_at=wake_at)
    else:
        customer_ids = [customer_id for _pk, customer_id, _s, _w in rows]
        members_now = set(
            members(step.config["rule"], now=now, base=Customer.objects.filter(pk__any_of=customer_ids)).values_list(
                "pk", flat=True
            )
        )
        yes = [pk for pk, customer_id, _s, _w in rows if customer_id in members_now]
        no = [pk for pk, customer_id, _s, _w in rows if customer_id not in members_now]
    SplitDecision.objects.bulk_create(
        [SplitDecision(enrollment_id=pk, step=step, branch=SplitDecision.Branch.YES, decided_at=now) for pk in yes]
        + [SplitDecision(enrollment_id=pk, step=step, branch=SplitDecision.Branch.NO, decided_at=now) for pk in no],
        ignore_conflicts=True,
    )
    if yes:
        _move(yes, steps.at(step.config.get("yes"), step), now)
    if no:
        _move(no, steps.at(step.config.get("no"), step), now)


def _grouped(wake_times: Mapping[int, dt.datetime]) -> dict[dt.datetime, list[int]]:
    groups: dict[dt.datetime, list[int]] = {}
    for pk, moment in wake_times.items():
        groups.setdefault(moment, []).append(pk)
    return groups


def _handle_tag(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    from rapport.tags import services as tag_services
    from rapport.tags.models import Tag

    tag = Tag.objects.filter(pk=step.config.get("tag")).first()
    action = "add" if step.kind == Step.Kind.ADD_TAG else "remove"
    if tag is None:
        logger.warning("plan #%s step %s: tag %s is gone; step skipped", step.plan_id, step.position, step.config)
    else:
        try:
            with transaction.atomic():
                tag_services.batch_ids(
                    tag,
                    action=action,
                    values=[(line, str(customer_id)) for line, (_pk, customer_id, _s, _w) in enumerate(rows, 1)],
                    actor=Actor.system(f"operation plan #{step.plan_id}"),
                    params={"plan": step.plan_id, "step": step.position},
                )
        except DomainError as exc:
            logger.warning("plan #%s step %s: %s; step skipped", step.plan_id, step.position, exc)
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_loyalty(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    rewards.issue(step, [(pk, customer_id) for pk, customer_id, _s, _w in rows], now=now)
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_send(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    plan_messages(step, [pk for pk, *_rest in rows], now=now)
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_recommend(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    """A send to those who have recommendations; the others skip it (no message) and go on."""
    having = recommending.with_recommendations([customer_id for _pk, customer_id, _s, _w in rows], step.config)
    plan_messages(step, [pk for pk, customer_id, _s, _w in rows if customer_id in having], now=now)
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_task(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    """Staff get a task per customer (a call list is tasks of type call), in this chunk's transaction."""
    task_steps.create_for_customers(
        step.config, [customer_id for _pk, customer_id, _s, _w in rows], source_ref=f"plan:{step.plan_id}", now=now
    )
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_promotion(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    """Each customer is granted the step's personal promotion, once per enrollment, in this chunk's transaction."""
    enrollments = [(pk, customer_id) for pk, customer_id, _s, _w in rows]
    promotion_steps.grant_for_enrollments(step.config, enrollments, plan_id=step.plan_id, step_id=step.pk, now=now)
    _move([pk for pk, *_rest in rows], steps.after(step), now)


def _handle_end(
    step: Step, rows: list[tuple[int, int, str, dt.datetime | None]], steps: Steps, now: dt.datetime
) -> None:
    _move([pk for pk, *_rest in rows], None, now)


_HANDLERS = {
    Step.Kind.WAIT: _handle_wait,
    Step.Kind.SPLIT: _handle_split,
    Step.Kind.SEND: _handle_send,
    Step.Kind.RECOMMEND: _handle_recommend,
    Step.Kind.NOTIFY: _handle_send,
    Step.Kind.ADD_TAG: _handle_tag,
    Step.Kind.REMOVE_TAG: _handle_tag,
    Step.Kind.COUPON: _handle_loyalty,
    Step.Kind.POINTS: _handle_loyalty,
    Step.Kind.TASK: _handle_task,
    Step.Kind.PROMOTION: _handle_promotion,
    Step.Kind.END: _handle_end,
}


def _run_chunk(plan: Plan, step: Step, steps: Steps, now: dt.datetime) -> int:
    """Claim up to CHUNK due enrollments at ``step`` and handle them in one transaction."""
    with transaction.atomic():
        rows = list(
            Enrollment.objects.select_for_update(skip_locked=True)
            .filter(plan=plan, step=step, state__in=[Enrollment.State.ACTIVE, Enrollment.State.WAITING])
            .filter(Q(wake_at__isnull=True) | Q(wake_at__lte=now))
            .order_by("pk")
            .values_list("pk", "customer_id", "state", "wake_at")[:CHUNK]
        )
        if rows:
            _HANDLERS[Step.Kind(step.kind)](step, rows, steps, now)
    return len(rows)


def advance(plan: Plan, *, now: dt.datetime | None = None) -> int:
    """Move every due enrollment of a running plan as far as it can go now; answer how many moves."""
    now = now or timezone.now()
    steps = Steps(plan)
    moved = 0
    for _round in range(MAX_ROUNDS):
        progressed = 0
        for step in steps.ordered:
            progressed += _run_chunk(plan, step, steps, now)
        moved += progressed
        if not progressed:
            break
    return moved


# Planning sends ---------------------------------------------------------------------------------


def quiet_release(policy: ChannelPolicy, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """``now``, or the end of the quiet hours in ``tz`` if ``now`` falls inside them."""
    start, end = policy.quiet_start, policy.quiet_end
    assert start is not None and end is not None
    local = now.astimezone(tz)
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return now
    release = dt.datetime.combine(local.date(), end, tzinfo=tz)
    if release <= local:
        release += dt.timedelta(days=1)
    return release.astimezone(dt.UTC)


def _not_before(policy: ChannelPolicy, plan: Plan | None, purpose: str, now: dt.datetime) -> Any:
    """Per customer, by their store's time zone: when the message may go out."""
    if (
        not policy.has_quiet_hours
        or purpose != Purpose.MARKETING
        or (plan is not None and not plan.respect_quiet_hours)
    ):
        return Value(now, output_field=DateTimeField())
    default = quiet_release(policy, zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE), now)
    whens = [
        When(customer__store_id=store.pk, then=Value(quiet_release(policy, store.tzinfo, now)))
        for store in Store.objects.all()
    ]
    return Case(*whens, default=Value(default), output_field=DateTimeField()) if whens else Value(default)


def _variants(step: Step, plan: Plan) -> tuple[Any, Any]:
    """The template and variant key per enrollment, from its bucket and the variants' weights."""
    variants = step.config.get("variants") or []
    if len(variants) == 1:
        only = variants[0]
        return Value(int(only["template"])), Value(str(only.get("key", "")))
    start = plan.control_percent * Enrollment.BUCKETS // 100
    span = Enrollment.BUCKETS - start
    total = sum(int(v.get("weight", 0)) for v in variants) or 1
    template_whens, key_whens, cumulative = [], [], 0
    for variant in variants[:-1]:
        cumulative += int(variant.get("weight", 0))
        boundary = start + span * cumulative // total
        template_whens.append(When(bucket__lt=boundary, then=Value(int(variant["template"]))))
        key_whens.append(When(bucket__lt=boundary, then=Value(str(variant["key"]))))
    last = variants[-1]
    return (
        Case(*template_whens, default=Value(int(last["template"])), output_field=IntegerField()),
        Case(*key_whens, default=Value(str(last["key"])), output_field=CharField()),
    )


MESSAGE_COLUMNS = (
    "plan_id",
    "step_id",
    "enrollment_id",
    "customer_id",
    "channel",
    "purpose",
    "template_id",
    "variant",
    "dedup_group",
    "reference",
    "reason",
    "not_before",
    "created_at",
)


def plan_messages(step: Step, enrollment_ids: Sequence[int], *, now: dt.datetime) -> int:
    """Write one message per enrollment for a send, send-recommendations or notify step, guards
    applied, exactly once."""
    plan = step.plan
    if step.kind == Step.Kind.NOTIFY:
        channel, purpose = ChannelKind.STAFF, Purpose.SERVICE
        template, variant = Value(None, output_field=IntegerField()), Value("")
    else:
        channel, purpose = step.config["channel"], step.config.get("purpose", Purpose.MARKETING)
        template, variant = _variants(step, plan)
    policy = channels.policy_for(channel)
    enrollments = Enrollment.objects.filter(pk__any_of=list(enrollment_ids))
    reason: Any = (
        Value("")
        if channel == ChannelKind.STAFF
        else guards.refusal(channel=channel, purpose=purpose, policy=policy, now=now, plan=plan)
    )
    selected = enrollments.annotate(
        m_plan_id=Value(plan.pk),
        m_step_id=Value(step.pk),
        m_enrollment_id=F("pk"),
        m_customer_id=F("customer_id"),
        m_channel=Value(channel),
        m_purpose=Value(purpose),
        m_template_id=template,
        m_variant=variant,
        m_dedup_group=Value(plan.dedup_group if purpose == Purpose.MARKETING else ""),
        m_reference=Value(f"plan #{plan.pk}"),
        m_reason=reason,
        m_not_before=_not_before(policy, plan, purpose, now),
        m_created_at=Value(now, output_field=DateTimeField()),
    ).values(*(f"m_{column}" for column in MESSAGE_COLUMNS))
    sql, params = selected.query.sql_with_params()
    table = _quote(Message._meta.db_table)
    outer = ", ".join(f"chosen.{_quote('m_' + c)}" for c in MESSAGE_COLUMNS)
    statement = (
        f"INSERT INTO {table} ({', '.join(MESSAGE_COLUMNS)}, status, attempts, error) "  # noqa: S608
        f"SELECT {outer}, %s, 0, '' FROM ({sql}) AS chosen WHERE 1 = 1 "
        "ON CONFLICT (enrollment_id, step_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [Message.Status.PLANNED, *params])
        written = int(cursor.rowcount)
    # The reason was decided in the same statement; rows with one are suppressed, not planned.
    Message.objects.filter(step=step, enrollment__any_of=list(enrollment_ids), status=Message.Status.PLANNED).exclude(
        reason=""
    ).update(status=Message.Status.SUPPRESSED)
    return written
