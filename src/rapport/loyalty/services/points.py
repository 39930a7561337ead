"""Points (积分): earn rules, earning on orders and events, reversal on refund, adjustments,
redemption and expiry.

Earning on an order happens once per order (key ``points:order:<id>:earn``) when it reaches a
counted status. A refund reverses the same share of the points the order earned (rounded half
up, cumulative over refunds, so a full refund reverses exactly everything); a cancellation
reverses the rest. A reversal takes from the order's own lot first and never drives the balance
below zero: what cannot be taken is noted on the entry.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.commerce.models import COUNTED_STATUSES, Order, OrderStatus, Refund
from rapport.core.actor import Actor
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.loyalty.models import (
    ZERO,
    Account,
    Asset,
    EarnRule,
    EarnRuleKind,
    Entry,
    EntryKind,
    ExpiryPolicy,
    Lot,
    ProgramSettings,
)
from rapport.loyalty.services import ledger
from rapport.loyalty.services.ledger import Posting
from rapport.loyalty.services.program import program_settings

ONE = Decimal("1")
_ROUNDING = {"down": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "up": ROUND_CEILING}


def whole_points(value: object, field: str = "points") -> Decimal:
    """Points are whole numbers; InvalidInput naming ``field`` otherwise."""
    try:
        points = Decimal(str(value))
    except ArithmeticError as exc:
        raise InvalidInput.single(field, "invalid", _("Enter a whole number of points.")) from exc
    if not points.is_finite() or points != points.to_integral_value():
        raise InvalidInput.single(field, "invalid", _("Enter a whole number of points."))
    return points


def expiry_for(earned_at: datetime, program: ProgramSettings | None = None) -> datetime | None:
    """When points earned at ``earned_at`` expire under the programme's policy."""
    program = program or program_settings()
    if program.points_expiry == ExpiryPolicy.NEVER:
        return None
    if program.points_expiry == ExpiryPolicy.ROLLING_DAYS:
        return earned_at + timedelta(days=program.points_expiry_days)
    local = timezone.localtime(earned_at, timezone.get_default_timezone())
    year = local.year + 1
    end = local.replace(year=year, month=12, day=calendar.monthrange(year, 12)[1], hour=23, minute=59, second=59)
    return end.replace(microsecond=0)


@transaction.atomic
def award(
    customer: Customer,
    *,
    points: Decimal | int,
    key: str,
    actor: Actor,
    reason: str = "",
    reference: str = "",
    order: Order | None = None,
    earned_at: datetime | None = None,
) -> Entry:
    """Credit earned points (rules, events, campaigns, gifts), expiring under the policy."""
    amount = whole_points(points)
    account = ledger.lock_account(customer.pk, Asset.POINTS)
    at = earned_at or timezone.now()
    posting = Posting(EntryKind.EARN, key, actor, reason=reason, reference=reference, order=order, at=at)
    return ledger.credit(account, amount, posting, expires_at=expiry_for(at))


@transaction.atomic
def spend(customer: Customer, *, points: Decimal | int, key: str, actor: Actor, reference: str = "") -> Entry:
    """Redeem points (gifts, checkout); Conflict when the balance is too low."""
    amount = whole_points(points)
    account = ledger.lock_account(customer.pk, Asset.POINTS)
    return ledger.debit(
        account, amount, Posting(EntryKind.SPEND, key, actor, reference=reference), insufficient_field="points"
    )


# Earning on orders -------------------------------------------------------------------------------


def _rules_at(kind: str, at: datetime, store_id: int | None) -> list[EarnRule]:
    rules = (
        EarnRule.objects.filter(kind=kind, is_active=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=at))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .prefetch_related("stores")
    )
    return [rule for rule in rules if not rule.stores.all() or any(s.pk == store_id for s in rule.stores.all())]


@dataclass(frozen=True)
class OrderEarning:
    points: Decimal
    explanation: str


def points_for_order(order: Order, *, multiplier: Decimal = ONE) -> OrderEarning:
    """What an order earns under the active rules at its time; ``multiplier`` from level or card."""
    base = ZERO
    parts: list[str] = []
    amount = order.total
    for rule in _rules_at(EarnRuleKind.PER_AMOUNT, order.placed_at, order.store_id):
        if amount < rule.minimum_amount:
            continue
        earned = (amount * rule.points_per_unit).quantize(ONE, rounding=_ROUNDING[rule.rounding])
        base += earned
        parts.append(f"{rule.name}: {earned}")
    campaign_multiplier = ONE
    bonus = ZERO
    for rule in _rules_at(EarnRuleKind.CAMPAIGN, order.placed_at, order.store_id):
        if amount < rule.minimum_amount:
            continue
        campaign_multiplier *= rule.multiplier
        bonus += rule.bonus_points
        parts.append(f"{rule.name}: ×{rule.multiplier} +{rule.bonus_points}")
    if multiplier != ONE:
        parts.append(f"member ×{multiplier}")
    total = (base * multiplier * campaign_multiplier).quantize(ONE, rounding=ROUND_FLOOR) + bonus
    return OrderEarning(total, "; ".join(parts))


def earn_for_order(order: Order, *, actor: Actor) -> Entry | None:
    """Credit the points a counted order earns, once; None when it earns nothing."""
    from rapport.loyalty.services.levels import earning_multiplier

    if order.customer_id is None or not order.is_counted:
        return None
    key = f"points:order:{order.pk}:earn"
    already = Entry.objects.filter(idempotency_key=key).first()
    if already is not None:
        return already
    earning = points_for_order(order, multiplier=earning_multiplier(order.customer_id, at=order.placed_at))
    if earning.points <= 0:
        return None
    assert order.customer is not None
    return award(
        order.customer,
        points=earning.points,
        key=key,
        actor=actor,
        reason=earning.explanation,
        reference=order.external_id,
        order=order,
        earned_at=order.placed_at,
    )


def _reverse_share(order: Order, *, target_share: Decimal, key: str, actor: Actor, reference: str) -> Entry | None:
    earned = Entry.objects.filter(order=order, kind=EntryKind.EARN, idempotency_key__startswith="points:").first()
    if earned is None or order.customer_id is None:
        return None
    reversed_before = Entry.objects.filter(order=order, kind=EntryKind.REVERSE, account__asset=Asset.POINTS)
    already = -Decimal(reversed_before.aggregate(total=Sum("amount"))["total"] or ZERO).to_integral_value()
    target = (earned.amount * target_share).quantize(ONE, rounding=ROUND_HALF_UP)
    due = min(target, earned.amount) - already
    if due <= 0:
        return None
    account = ledger.lock_account(order.customer_id, Asset.POINTS)
    replay = ledger.replayed(key, account, None)
    if replay is not None:
        return replay
    ledger.expire_due_lots(account)
    taken = min(due, account.balance)
    if taken <= 0:
        return None
    note = "" if taken == due else _("%(short)s points could not be taken back: already spent") % {"short": due - taken}
    own_lot = Lot.objects.filter(entry=earned).values_list("pk", flat=True).first()
    posting = Posting(EntryKind.REVERSE, key, actor, reason=note, reference=reference, order=order)
    return ledger.debit(account, taken, posting, first_lot_id=own_lot)


def reverse_for_refund(refund: Refund, *, actor: Actor) -> Entry | None:
    """Take back the refunded share of what the order earned (cumulative, rounded half up)."""
    order = refund.order
    if order.total <= 0:
        return None
    share = min(order.refunded_total / order.total, ONE)
    return _reverse_share(
        order, target_share=share, key=f"points:refund:{refund.pk}:reverse", actor=actor, reference=refund.external_id
    )


def reverse_for_cancellation(order: Order, *, actor: Actor) -> Entry | None:
    return _reverse_share(
        order, target_share=ONE, key=f"points:order:{order.pk}:cancel", actor=actor, reference=order.external_id
    )


@transaction.atomic
def on_order_saved(order: Order, previous_status: str, *, actor: Actor) -> None:
    """Earn when an order becomes counted; reverse everything when a counted order is cancelled."""
    if order.status == OrderStatus.CANCELLED and previous_status in COUNTED_STATUSES:
        reverse_for_cancellation(order, actor=actor)
    else:
        earn_for_order(order, actor=actor)


# Events ------------------------------------------------------------------------------------------


def earn_for_events(messages: Iterable[object], *, actor: Actor) -> int:
    """Points for behaviour events named by active per-event rules, within each rule's daily limit."""
    now = timezone.now()
    named = {name for m in messages if getattr(m, "customer_id", None) is not None and (name := getattr(m, "name", ""))}
    if not named & _event_rule_names(now):
        return 0
    rules = [rule for rule in _rules_at(EarnRuleKind.PER_EVENT, now, None) if rule.points > 0 and rule.event_name]
    if not rules:
        return 0
    by_name: dict[str, list[EarnRule]] = {}
    for rule in rules:
        by_name.setdefault(rule.event_name, []).append(rule)
    earning = [
        (customer_id, message, by_name[getattr(message, "name", "")])
        for message in messages
        if (customer_id := getattr(message, "customer_id", None)) is not None
        and getattr(message, "name", "") in by_name
    ]
    customers = Customer.objects.in_bulk({customer_id for customer_id, _message, _rules in earning})
    awarded = 0
    for customer_id, message, matching in earning:
        customer = customers.get(customer_id)
        if customer is None:
            continue
        for rule in matching:
            if _under_daily_limit(customer_id, rule, getattr(message, "timestamp", now)):
                award(
                    customer,
                    points=rule.points,
                    key=f"points:event:{rule.pk}:{getattr(message, 'message_id', '')}",
                    actor=actor,
                    reason=rule.name,
                    reference=f"rule:{rule.pk}",
                )
                awarded += 1
    return awarded


_EVENT_RULE_NAMES = (
    f"SELECT DISTINCT event_name FROM {EarnRule._meta.db_table} "  # noqa: S608
    "WHERE kind = %s AND is_active AND points > 0 AND event_name <> '' "
    "AND (starts_at IS NULL OR starts_at <= %s) AND (ends_at IS NULL OR ends_at > %s)"
)


def _event_rule_names(at: datetime) -> set[str]:
    """Event names some active per-event rule pays for: plain SQL, asked for every tracking request."""
    with connection.cursor() as cursor:
        stored_at = connection.ops.adapt_datetimefield_value(at)
        cursor.execute(_EVENT_RULE_NAMES, [EarnRuleKind.PER_EVENT, stored_at, stored_at])
        return {row[0] for row in cursor.fetchall()}


def _under_daily_limit(customer_id: int, rule: EarnRule, at: datetime) -> bool:
    if not rule.daily_limit:
        return True
    day = timezone.localtime(at, timezone.get_default_timezone()).date()
    earned_today = (
        Entry.objects.filter(account__customer_id=customer_id, reference=f"rule:{rule.pk}", kind=EntryKind.EARN)
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_default_timezone()))
        .filter(day=day)
        .count()
    )
    return earned_today < rule.daily_limit


# Expiry ------------------------------------------------------------------------------------------


def expire_all(now: datetime | None = None) -> int:
    """Expire every overdue lot of every account, one account per transaction; returns entries."""
    now = now or timezone.now()
    account_ids = (
        Lot.objects.filter(remaining__gt=0, expires_at__lte=now).values_list("account_id", flat=True).distinct()
    )
    written = 0
    for account_id in list(account_ids):
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=account_id)
            written += len(ledger.expire_due_lots(account, now))
    return written


def expiring(customer_id: int, *, within_days: int, now: datetime | None = None) -> list[tuple[datetime, Decimal]]:
    """Points that will expire within ``within_days``, grouped by expiry time, soonest first."""
    now = now or timezone.now()
    rows = (
        Lot.objects.points_expiring(within=timedelta(days=within_days), now=now)
        .filter(account__customer_id=customer_id)
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
    )
    return [(row["expires_at"], Decimal(row["points"]).to_integral_value()) for row in rows]
