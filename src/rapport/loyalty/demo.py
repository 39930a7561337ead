"""The demo shop's loyalty programme, derived from the orders already written.

Demo orders are bulk-inserted (no signals fire), so this step replays them through an in-memory
copy of the ledger rules — earn one point per yuan on each counted order, reverse the refunded
share, redeem now and then, expire lots at the end of the following year (FIFO) — and writes the
resulting accounts, entries, lots and lot uses in bulk. Stored value, coupons, cards and levels
follow, so every balance equals the sum of its entries exactly as if the services had run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from heapq import heappop, heappush
from itertools import count as count_from
from itertools import groupby
from operator import itemgetter
from typing import Any

from rapport.commerce.models import Order, Refund
from rapport.demo.steps import DemoContext
from rapport.loyalty.models import (
    Account,
    Asset,
    BenefitCard,
    CardPeriod,
    CardType,
    Coupon,
    CouponEvent,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    EarnRule,
    EarnRuleKind,
    Entry,
    EntryKind,
    Level,
    Lot,
    LotUse,
    ProgramSettings,
    TopUpBonus,
)
from rapport.loyalty.services import coupons as coupon_services
from rapport.loyalty.services import levels as level_services
from rapport.loyalty.services.points import expiry_for
from rapport.loyalty.services.program import program_settings

ACTOR = "demo shop"
ONE = Decimal("1")
GIFT_POINTS = Decimal("1000")


@dataclass
class _Lot:
    entry: int  # index into the plan's entries
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    amount: Decimal
    remaining: Decimal


@dataclass
class _Account:
    customer_id: int
    asset: str
    balance: Decimal = Decimal("0")
    lots: list[_Lot] = field(default_factory=list)


@dataclass
class _Plan:
    """Rows to write: entries as dicts, their lots and lot uses by entry index."""

    program: ProgramSettings
    accounts: dict[tuple[int, str], _Account] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    uses: list[tuple[int, int, Decimal]] = field(default_factory=list)  # debit entry, credit entry, amount
    lot_expiry: dict[int, dt.datetime | None] = field(default_factory=dict)  # credit entry → expiry

    def account(self, customer_id: int, asset: str) -> _Account:
        return self.accounts.setdefault((customer_id, asset), _Account(customer_id, asset))

    def _entry(self, account: _Account, kind: str, amount: Decimal, key: str, at: dt.datetime, **extra: Any) -> int:
        account.balance += amount
        self.entries.append(
            {
                "account": (account.customer_id, account.asset),
                "kind": kind,
                "amount": amount,
                "balance_after": account.balance,
                "idempotency_key": key,
                "occurred_at": at,
                "actor": ACTOR,
                **extra,
            }
        )
        return len(self.entries) - 1

    def credit(self, account: _Account, amount: Decimal, kind: str, key: str, at: dt.datetime, **extra: Any) -> None:
        self.expire(account, at)
        index = self._entry(account, kind, amount, key, at, **extra)
        expires = expiry_for(at, self.program) if account.asset == Asset.POINTS else None
        self.lot_expiry[index] = expires
        account.lots.append(_Lot(index, at, expires, amount, amount))

    def debit(
        self,
        account: _Account,
        amount: Decimal,
        kind: str,
        key: str,
        at: dt.datetime,
        first: int | None = None,
        **extra: Any,
    ) -> Decimal:
        """Take up to ``amount`` (never below zero), own lot first then FIFO; returns what was taken."""
        self.expire(account, at)
        taken = min(amount, account.balance)
        if taken <= 0:
            return Decimal("0")
        index = self._entry(account, kind, -taken, key, at, **extra)
        ordered = sorted(account.lots, key=lambda lot: (lot.entry != first, lot.earned_at, lot.entry))
        left = taken
        for lot in ordered:
            take = min(left, lot.remaining)
            if take > 0:
                lot.remaining -= take
                self.uses.append((index, lot.entry, take))
                left -= take
            if left == 0:
                break
        account.lots = [lot for lot in account.lots if lot.remaining > 0]
        return taken

    def expire(self, account: _Account, now: dt.datetime) -> None:
        for lot in sorted(account.lots, key=lambda lot: (lot.expires_at or now, lot.entry)):
            if lot.expires_at is not None and lot.expires_at <= now and lot.remaining > 0:
                index = self._entry(
                    account, EntryKind.EXPIRE, -lot.remaining, f"expire:lot:demo{lot.entry}", lot.expires_at
                )
                self.uses.append((index, lot.entry, lot.remaining))
                lot.remaining = Decimal("0")
        account.lots = [lot for lot in account.lots if lot.remaining > 0]


def seed_loyalty(context: DemoContext) -> dict[str, int]:
    end = context.now
    templates, card_types = _programme(end)
    plan = _Plan(program_settings())
    counted = _replay_orders(plan, context, end)
    _stored_value(plan, context, end)
    for account in plan.accounts.values():
        plan.expire(account, end)
    written = _write(plan)
    coupon_count = _coupons(context, templates, end)
    card_count = _cards(context, card_types, end)
    review = level_services.review_all(actor=context.actor)
    context.say(
        f"loyalty: {written} ledger entries from {counted} orders, {coupon_count} coupons, "
        f"{card_count} cards, {review['upgraded']} members on a level"
    )
    return {"ledger_entries": written, "coupons": coupon_count, "benefit_cards": card_count}


def _programme(end: dt.datetime) -> tuple[list[CouponTemplate], list[CardType]]:
    Level.objects.bulk_create(
        [
            Level(name="会员 Member", rank=1, threshold=Decimal("0"), keep_threshold=Decimal("0")),
            Level(
                name="银卡 Silver",
                rank=2,
                threshold=Decimal("1500"),
                keep_threshold=Decimal("1000"),
                points_multiplier=Decimal("1.2"),
                birthday_points=100,
            ),
            Level(
                name="金卡 Gold",
                rank=3,
                threshold=Decimal("5000"),
                keep_threshold=Decimal("3500"),
                points_multiplier=Decimal("1.5"),
                discount_percent=Decimal("5"),
                free_shipping=True,
                birthday_points=300,
                custom_benefits="专属客服优先接待\n品茶会邀请",
            ),
            Level(
                name="黑金 Black Gold",
                rank=4,
                threshold=Decimal("15000"),
                keep_threshold=Decimal("10000"),
                points_multiplier=Decimal("2"),
                discount_percent=Decimal("8"),
                free_shipping=True,
                birthday_points=800,
                custom_benefits="私人茶艺顾问\n免费礼品包装",
            ),
        ]
    )
    EarnRule.objects.bulk_create(
        [
            EarnRule(name="1 point per yuan", kind=EarnRuleKind.PER_AMOUNT, points_per_unit=ONE),
            EarnRule(
                name="Daily check-in", kind=EarnRuleKind.PER_EVENT, event_name="check_in", points=5, daily_limit=1
            ),
            EarnRule(
                name="Double 11 triple points",
                kind=EarnRuleKind.CAMPAIGN,
                multiplier=Decimal("3"),
                starts_at=dt.datetime(end.year, 11, 11, tzinfo=dt.UTC) - dt.timedelta(hours=8),
                ends_at=dt.datetime(end.year, 11, 12, tzinfo=dt.UTC) - dt.timedelta(hours=8),
                is_active=True,
            ),
        ]
    )
    TopUpBonus.objects.bulk_create(
        [
            TopUpBonus(minimum=Decimal("500"), bonus=Decimal("30")),
            TopUpBonus(minimum=Decimal("1000"), bonus=Decimal("100")),
            TopUpBonus(minimum=Decimal("3000"), bonus=Decimal("400")),
        ]
    )
    templates = CouponTemplate.objects.bulk_create(
        [
            CouponTemplate(
                name="满199减20 · 20 off 199",
                kind=CouponKind.AMOUNT_OFF,
                amount_off=Decimal("20"),
                threshold=Decimal("199"),
                valid_days=30,
                per_customer_limit=2,
                is_claimable=True,
            ),
            CouponTemplate(
                name="茶叶85折 · 15% off tea (up to 50)",
                kind=CouponKind.PERCENT_OFF,
                percent_off=Decimal("15"),
                max_discount=Decimal("50"),
                category_codes=["tea"],
                valid_days=60,
                per_customer_limit=1,
            ),
            CouponTemplate(
                name="生日礼券 · Birthday 30 off",
                kind=CouponKind.AMOUNT_OFF,
                amount_off=Decimal("30"),
                threshold=Decimal("100"),
                valid_days=30,
                per_customer_limit=0,
                return_on_refund=False,
            ),
        ]
    )
    card_types = CardType.objects.bulk_create(
        [
            CardType(
                name="茶友Plus · Tea Club Plus",
                price=Decimal("99"),
                validity_days=365,
                points_multiplier=Decimal("1.5"),
                free_shipping=True,
                welcome_coupon=templates[0],
                custom_benefits="每单附赠试饮装",
            ),
            CardType(
                name="新人卡 · Newcomer card", price=Decimal("0"), validity_days=30, discount_percent=Decimal("3")
            ),
        ]
    )
    return templates, card_types


def _replay_orders(plan: _Plan, context: DemoContext, until: dt.datetime) -> int:
    """Earn on each counted order, reverse refunds and redeem gifts, one customer at a time in the
    order things happened: a refund or a gift days after an order is booked after the orders placed
    in between, so that every entry's balance-after is the balance at its time."""
    refunds: dict[int, list[tuple[int, Decimal, dt.datetime]]] = defaultdict(list)
    for refund_id, order_id, amount, at in Refund.objects.values_list("pk", "order_id", "amount", "refunded_at"):
        refunds[order_id].append((refund_id, amount, at))
    orders = (
        Order.objects.counted()
        .filter(customer__isnull=False, placed_at__lte=until)
        .order_by("customer_id", "placed_at", "pk")
        .values_list("pk", "customer_id", "total", "placed_at", "external_id")
    )
    count = 0
    tiebreak = count_from()  # keeps same-time items in the order they were planned
    for customer_id, customer_orders in groupby(orders.iterator(chunk_size=2000), key=itemgetter(1)):
        account = plan.account(customer_id, Asset.POINTS)
        later: list[tuple[dt.datetime, int, _Later]] = []  # refunds and gifts not yet due, soonest first
        for order_id, _customer, total, placed_at, external_id in customer_orders:
            _book_until(plan, account, later, placed_at)
            earned = total.quantize(ONE, rounding=ROUND_FLOOR)
            if earned <= 0:
                continue
            count += 1
            key = f"points:order:{order_id}:earn"
            plan.credit(account, earned, EntryKind.EARN, key, placed_at, order_id=order_id, reference=external_id)
            earning = _Earning(order_id, len(plan.entries) - 1, earned, total)
            for refund_id, amount, at in refunds.get(order_id, []):
                if at <= until:
                    heappush(later, (at, next(tiebreak), _Later(earning, refund_id, amount)))
            if account.balance >= 2000 and context.rng.random() < 0.15:  # redeemed for a gift now and then
                when = placed_at + dt.timedelta(days=context.rng.randint(1, 60))
                if when <= until:
                    heappush(later, (when, next(tiebreak), _Later(earning)))
        _book_until(plan, account, later, until)
    return count


@dataclass
class _Earning:
    """What an order earned, and how much of it refunds have taken back so far."""

    order_id: int
    entry: int
    earned: Decimal
    total: Decimal
    refunded: Decimal = Decimal("0")
    reversed: Decimal = Decimal("0")


@dataclass
class _Later:
    """A refund of ``earning``'s order (``refund_id`` set), or a 1,000-point gift redeemed after it."""

    earning: _Earning
    refund_id: int | None = None
    amount: Decimal = Decimal("0")


def _book_until(plan: _Plan, account: _Account, later: list[tuple[dt.datetime, int, _Later]], at: dt.datetime) -> None:
    """Book the refunds and gifts due by ``at``, in time order."""
    while later and later[0][0] <= at:
        when, _seq, item = heappop(later)
        earning = item.earning
        if item.refund_id is None:
            plan.expire(account, when)
            if account.balance >= GIFT_POINTS:
                plan.debit(
                    account,
                    GIFT_POINTS,
                    EntryKind.SPEND,
                    f"points:spend:demo:{earning.order_id}",
                    when,
                    reference="gift",
                )
            continue
        earning.refunded += item.amount
        target = earning.earned
        if earning.total:
            target = min(
                (earning.earned * earning.refunded / earning.total).quantize(ONE, rounding=ROUND_HALF_UP), target
            )
        due = target - earning.reversed
        if due > 0:
            earning.reversed += plan.debit(
                account,
                due,
                EntryKind.REVERSE,
                f"points:refund:{item.refund_id}:reverse",
                when,
                first=earning.entry,
                order_id=earning.order_id,
            )


def _stored_value(plan: _Plan, context: DemoContext, end: dt.datetime) -> None:
    rng = context.rng
    bonus_by_tier = [
        (Decimal("3000"), Decimal("400")),
        (Decimal("1000"), Decimal("100")),
        (Decimal("500"), Decimal("30")),
    ]
    holders = [
        customer_id for (customer_id, asset) in list(plan.accounts) if asset == Asset.POINTS and rng.random() < 0.08
    ]
    for customer_id in holders:
        paid = Decimal(rng.choice([500, 1000, 1000, 3000]))
        at = end - dt.timedelta(days=rng.randint(20, 300))
        principal, bonus = plan.account(customer_id, Asset.PRINCIPAL), plan.account(customer_id, Asset.BONUS)
        key = f"sv:topup:{customer_id}:demo"
        plan.credit(principal, paid, EntryKind.TOP_UP, f"{key}:principal", at)
        extra = next(b for minimum, b in bonus_by_tier if paid >= minimum)
        plan.credit(bonus, extra, EntryKind.TOP_UP, f"{key}:bonus", at, reason="Top-up bonus")
        spent = (paid * Decimal(str(rng.uniform(0, 0.9)))).quantize(Decimal("0.01"))
        if spent > 0:
            when = at + dt.timedelta(days=rng.randint(1, 19))
            from_bonus = plan.debit(bonus, spent, EntryKind.SPEND, f"sv:spend:{customer_id}:demo:bonus", when)
            if spent > from_bonus:
                plan.debit(
                    principal, spent - from_bonus, EntryKind.SPEND, f"sv:spend:{customer_id}:demo:principal", when
                )


def _write(plan: _Plan) -> int:
    accounts = {
        key: Account(customer_id=acc.customer_id, asset=acc.asset, balance=acc.balance)
        for key, acc in plan.accounts.items()
    }
    Account.objects.bulk_create(accounts.values(), batch_size=2000)
    entries = Entry.objects.bulk_create(
        [Entry(**{**row, "account": accounts[row["account"]]}) for row in plan.entries], batch_size=2000
    )
    lots_by_entry: dict[int, Lot] = {}
    remaining: dict[int, Decimal] = {}
    for acc in plan.accounts.values():
        for open_lot in acc.lots:
            remaining[open_lot.entry] = open_lot.remaining
    lots = []
    for index, expires in plan.lot_expiry.items():
        row = plan.entries[index]
        lot = Lot(
            account=accounts[row["account"]],
            entry=entries[index],
            earned_at=row["occurred_at"],
            expires_at=expires,
            amount=row["amount"],
            remaining=remaining.get(index, Decimal("0")),
        )
        lots_by_entry[index] = lot
        lots.append(lot)
    Lot.objects.bulk_create(lots, batch_size=2000)
    LotUse.objects.bulk_create(
        [LotUse(entry=entries[debit], lot=lots_by_entry[credit], amount=amount) for debit, credit, amount in plan.uses],
        batch_size=2000,
    )
    return len(entries)


def _coupons(context: DemoContext, templates: list[CouponTemplate], now: dt.datetime) -> int:
    """About a third of buyers got a coupon in the last 90 days; some used it on their next order
    that qualified (redeemed at that order's time, on that order), the rest hold or let it lapse."""
    rng = context.rng
    since = now - dt.timedelta(days=90)
    recent: dict[int, list[tuple[dt.datetime, str, Decimal]]] = defaultdict(list)
    for customer_id, placed_at, reference, total in (
        Order.objects.counted()
        .filter(customer__isnull=False, placed_at__gte=since)
        .order_by("customer_id", "placed_at", "pk")
        .values_list("customer_id", "placed_at", "external_id", "total")
    ):
        recent[customer_id].append((placed_at, reference, total))
    customer_ids = (
        Order.objects.filter(customer__isnull=False).order_by("customer_id").values_list("customer_id", flat=True)
    )
    rows: list[Coupon] = []
    for customer_id in customer_ids.distinct():
        if rng.random() >= 0.3:
            continue
        template = rng.choice(templates)
        issued = now - dt.timedelta(seconds=rng.randint(3600, 90 * 86400))
        valid_until = issued + dt.timedelta(days=template.valid_days)
        used_on = next(
            (
                (placed_at, reference, total)
                for placed_at, reference, total in recent.get(customer_id, [])
                if issued < placed_at < min(valid_until, now) and total >= template.threshold
            ),
            None,
        )
        coupon = Coupon(
            template=template,
            code="".join(rng.choice(coupon_services.CODE_ALPHABET) for _ in range(coupon_services.CODE_LENGTH)),
            customer_id=customer_id,
            status=CouponStatus.EXPIRED if valid_until <= now else CouponStatus.ISSUED,
            issued_at=issued,
            valid_from=issued,
            valid_until=valid_until,
        )
        if rng.random() < 0.6 and used_on is not None:
            coupon.status = CouponStatus.REDEEMED
            coupon.redeemed_at, coupon.redeemed_order, total = used_on
            coupon.discount = _discount(template, total)
        rows.append(coupon)
    made = Coupon.objects.bulk_create(rows, batch_size=2000)
    events = [_coupon_event(c, CouponEvent.Kind.ISSUE, c.issued_at or now) for c in made] + [
        _coupon_event(c, CouponEvent.Kind.REDEEM, c.redeemed_at, reference=c.redeemed_order)
        for c in made
        if c.redeemed_at is not None
    ]
    CouponEvent.objects.bulk_create(events, batch_size=2000)
    for template in templates:
        CouponTemplate.objects.filter(pk=template.pk).update(
            issued_count=sum(1 for c in made if c.template_id == template.pk)
        )
    return len(made)


def _discount(template: CouponTemplate, total: Decimal) -> Decimal:
    if template.kind == CouponKind.AMOUNT_OFF:
        return min(template.amount_off, total)
    off = (total * template.percent_off / 100).quantize(Decimal("0.01"))
    return min(off, template.max_discount) if template.max_discount else off


def _coupon_event(coupon: Coupon, kind: str, at: dt.datetime, *, reference: str = "") -> CouponEvent:
    return CouponEvent(
        coupon=coupon,
        kind=kind,
        idempotency_key=f"coupon:{kind}:demo:{coupon.code}",
        occurred_at=at,
        reference=reference,
        actor=ACTOR,
    )


def _cards(context: DemoContext, card_types: list[CardType], now: dt.datetime) -> int:
    rng = context.rng
    plus = card_types[0]
    holders = [
        pk
        for pk in Account.objects.filter(asset=Asset.POINTS, balance__gte=1500)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        if rng.random() < 0.25
    ]
    cards = []
    for customer_id in holders:
        starts = now - dt.timedelta(days=rng.randint(0, 400))
        cards.append(
            BenefitCard(
                customer_id=customer_id,
                card_type=plus,
                starts_at=starts,
                ends_at=starts + dt.timedelta(days=plus.validity_days),
                amount_paid=plus.price,
            )
        )
    made = BenefitCard.objects.bulk_create(cards, batch_size=2000)
    CardPeriod.objects.bulk_create(
        [
            CardPeriod(
                card=card,
                starts_at=card.starts_at,
                ends_at=card.ends_at,
                amount_paid=card.amount_paid,
                idempotency_key=f"card:{card.customer_id}:demo",
                created_at=card.starts_at,
                actor=ACTOR,
            )
            for card in made
        ],
        batch_size=2000,
    )
    return len(made)
