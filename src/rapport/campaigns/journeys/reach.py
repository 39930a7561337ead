"""What launching a plan would do, before it starts: who it reaches, what it gives, how long, what it costs.

Every figure is counted by the database over the plan's audience, with the same SQL the engine
applies when it writes messages (:func:`rapport.campaigns.delivery.guards.refusal`: consent,
bounced addresses, frequency caps, de-duplication) and the engine's own quiet-hour release: one
aggregate query per channel the plan sends on, one for the audience. Nothing loops over customers.

The figures are an estimate made now: the random hold-out is its expected size, a journey's
audience is everyone its segment (or, without one, the whole base) holds — the trigger decides
who actually enters and when — and steps after a split count everyone, an upper bound.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import math
import operator
import zoneinfo
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from rapport.campaigns.delivery import channels, guards
from rapport.campaigns.journeys import engine, rewards
from rapport.campaigns.models import CONSENT_CHANNEL, MESSAGE_STEPS, ChannelKind, Message, Plan, Purpose, Step
from rapport.core.errors import Conflict, InvalidInput
from rapport.customers.consent import consenting_q
from rapport.customers.models import Customer, Identity, Store
from rapport.segments.compiler import members

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


@dataclass
class ChannelReach:
    """One channel the plan sends on, counted over the whole audience."""

    channel: str
    steps: int  # send steps on this channel
    with_address: int
    with_consent: int
    reachable: int  # an address, consent and no bounced address
    frequency_capped: int
    duplicates: int  # reached by another plan of the same de-duplication group
    quiet_hours: int  # would be held until the quiet hours end
    messages: int  # expected sends: the treated share of those who pass every guard, per step
    cost_per_message: Decimal | None = None
    cost: Decimal | None = None


@dataclass
class RewardReach:
    position: int
    kind: str
    template: int | None
    points: int | None
    customers: int
    total_points: int | None


@dataclass
class Reach:
    audience: int
    hold_out: int
    treated: int
    channels: list[ChannelReach] = field(default_factory=list)
    rewards: list[RewardReach] = field(default_factory=list)
    messages: int = 0
    dispatch_per_minute: int = 0
    starts_at: dt.datetime | None = None
    send_minutes: int = 0
    finishes_at: dt.datetime | None = None
    currency: str = ""
    total_cost: Decimal | None = None
    computed_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dispatch_per_minute() -> int:
    """How many messages the dispatcher hands to channels a minute: one ``deliver_due`` claim per
    scheduler tick, read from the dispatcher itself so the estimate follows it."""
    claim = int(inspect.signature(channels.deliver_due).parameters["limit"].default)
    tick: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["campaigns-tick"]
    tick_seconds = float(tick["schedule"])
    return max(1, int(claim * 60 / tick_seconds))


def channel_cost(channel: str) -> Decimal | None:
    price = settings.RAPPORT_CHANNEL_COSTS.get(channel)
    if price in (None, ""):
        return None
    try:
        return Decimal(str(price))
    except InvalidOperation:
        logger.warning("RAPPORT_CHANNEL_COSTS: %r is not a price for %s; ignored", price, channel)
        return None


def _address_q(channel: str) -> Q:
    """Customers who have somewhere to receive ``channel`` (the dispatcher's addresses, as SQL)."""
    if channel == ChannelKind.EMAIL:
        return Q(email_index__isnull=False)
    if channel in (ChannelKind.SMS, ChannelKind.CALL):
        return Q(phone_index__isnull=False)
    if channel == ChannelKind.SITE:
        return Q(pk__isnull=False)
    identity = channels.IDENTITY_CHANNEL.get(ChannelKind(channel), channel)
    return Q(Exists(Identity.objects.filter(customer=OuterRef("pk"), channel=identity)))


def _quiet_q(plan: Plan, channel: str, purpose: str, now: dt.datetime) -> Q | None:
    """Customers whose store's clock is inside the channel's quiet hours now (None: no quiet hours,
    or no clock inside them — an empty ``IN`` would not compile to a boolean column on PostgreSQL)."""
    policy = channels.policy_for(channel)
    if not policy.has_quiet_hours or purpose != Purpose.MARKETING or not plan.respect_quiet_hours:
        return None
    quiet_stores = [s.pk for s in Store.objects.all() if engine.quiet_release(policy, s.tzinfo, now) != now]
    default_zone = zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)
    parts = [Q(store_id__in=quiet_stores)] if quiet_stores else []
    if engine.quiet_release(policy, default_zone, now) != now:
        parts.append(Q(store__isnull=True))
    return functools.reduce(operator.or_, parts) if parts else None


def audience(plan: Plan, now: dt.datetime) -> QuerySet[Customer]:
    """Who the plan would reach: its segment's members; a journey without one, anyone."""
    if plan.segment is not None:
        return members(plan.segment.rule, now=now)
    return Customer.objects.all()


def _treated(count: int, plan: Plan) -> int:
    return count - round(count * plan.control_percent / 100)


def _channel(plan: Plan, people: QuerySet[Customer], channel: str, steps: list[Step], now: dt.datetime) -> ChannelReach:
    purpose = str(steps[0].config.get("purpose", Purpose.MARKETING))
    policy = channels.policy_for(channel)
    refusal = guards.refusal(channel=channel, purpose=purpose, policy=policy, now=now, plan=plan, customer="")
    address = _address_q(channel)
    quiet = _quiet_q(plan, channel, purpose, now)
    # The conditions become columns first: aggregating over an annotated query wraps it in a
    # subquery, where the filters can only name its columns.
    flags: dict[str, Any] = {
        "refusal": refusal,
        "has_address": ExpressionWrapper(address, output_field=BooleanField()),
        "consenting": ExpressionWrapper(
            consenting_q(CONSENT_CHANNEL[ChannelKind(channel)], purpose), output_field=BooleanField()
        ),
    }
    if quiet is not None:
        flags["in_quiet_hours"] = ExpressionWrapper(quiet, output_field=BooleanField())
    there = Q(has_address=True)
    counts: dict[str, Any] = {
        "with_address": Count("pk", filter=there),
        "with_consent": Count("pk", filter=Q(consenting=True)),
        "reachable": Count("pk", filter=there & ~Q(refusal__in=(Message.Reason.NO_CONSENT, Message.Reason.BOUNCED))),
        "frequency_capped": Count("pk", filter=there & Q(refusal=Message.Reason.FREQUENCY_CAP)),
        "duplicates": Count("pk", filter=there & Q(refusal=Message.Reason.DUPLICATE)),
        "passing": Count("pk", filter=there & Q(refusal="")),
    }
    if quiet is not None:
        counts["quiet_hours"] = Count("pk", filter=there & Q(refusal="") & Q(in_quiet_hours=True))
    figures = {"quiet_hours": 0, **people.annotate(**flags).aggregate(**counts)}
    passing = figures.pop("passing")
    messages = _treated(passing, plan) * len(steps)
    price = channel_cost(channel)
    return ChannelReach(
        channel=channel,
        steps=len(steps),
        messages=messages,
        cost_per_message=price,
        cost=(price * messages).quantize(CENT) if price is not None else None,
        **figures,
    )


def _rewards(plan: Plan, ordered: list[Step], treated: int, by_channel: dict[str, ChannelReach]) -> list[RewardReach]:
    """Coupons and points the steps would give, and to how many: a coupon step that gives only to
    those the next message can reach counts that message's reachable customers."""
    found = []
    for step in ordered:
        if step.kind not in (Step.Kind.COUPON, Step.Kind.POINTS):
            continue
        customers = treated
        if step.kind == Step.Kind.COUPON and step.config.get("audience", rewards.REACHABLE) == rewards.REACHABLE:
            following = next((s for s in ordered if s.position > step.position and s.kind in MESSAGE_STEPS), None)
            channel = following.config.get("channel") if following else None
            if channel in by_channel:
                customers = _treated(by_channel[channel].reachable, plan)
        points = int(step.config["points"]) if step.kind == Step.Kind.POINTS else None
        found.append(
            RewardReach(
                position=step.position,
                kind=step.kind,
                template=step.config.get("template") if step.kind == Step.Kind.COUPON else None,
                points=points,
                customers=customers,
                total_points=points * customers if points is not None else None,
            )
        )
    return found


def _start(plan: Plan, now: dt.datetime) -> dt.datetime:
    return plan.starts_at if plan.starts_at and plan.starts_at > now else now


def estimate(plan: Plan, *, now: dt.datetime | None = None) -> Reach:
    """The launch figures for a draft (or scheduled) plan; refused for one already running or done."""
    now = now or timezone.now()
    if plan.status not in (Plan.Status.DRAFT, Plan.Status.SCHEDULED):
        raise Conflict.single("status", "not_draft", f"the plan is {plan.get_status_display()}")
    ordered = list(plan.steps.order_by("position"))
    if not ordered:
        raise InvalidInput.single("steps", "required", "add at least one step before launching")
    starts = _start(plan, now)
    people = audience(plan, starts)
    size = people.count()
    treated = _treated(size, plan)
    sends: dict[str, list[Step]] = {}
    for step in ordered:
        if step.kind in MESSAGE_STEPS and step.config.get("channel"):
            sends.setdefault(str(step.config["channel"]), []).append(step)
    by_channel = {channel: _channel(plan, people, channel, steps, starts) for channel, steps in sends.items()}
    messages = sum(c.messages for c in by_channel.values())
    rate = dispatch_per_minute()
    minutes = math.ceil(messages / rate) if messages else 0
    costs = [c.cost for c in by_channel.values() if c.cost is not None]
    return Reach(
        audience=size,
        hold_out=size - treated,
        treated=treated,
        channels=list(by_channel.values()),
        rewards=_rewards(plan, ordered, treated, by_channel),
        messages=messages,
        dispatch_per_minute=rate,
        starts_at=starts,
        send_minutes=minutes,
        finishes_at=starts + dt.timedelta(minutes=minutes),
        currency=settings.RAPPORT_CURRENCY,
        total_cost=sum(costs, Decimal("0.00")) if costs else None,
        computed_at=now,
    )
