"""Walk every account, coupon and benefit card and check that what is stored adds up.

A statement lists an account's entries in the order they were booked (``ledger.STATEMENT_ORDER``): each
entry's balance-after is the previous one plus its amount, the last one is the account's balance,
and the open lots hold exactly that balance. Coupons and cards are checked against their history:
a redeemed coupon says when and on which order, each template's issued count matches its coupons,
and a card's periods end where the card does.

Used by the tests over the whole demo shop and by ``rapport check_ledgers`` on a live database;
it only reads, a few thousand rows at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Max, Q, Sum

from rapport.loyalty.models import (
    ZERO,
    Account,
    BenefitCard,
    Coupon,
    CouponEvent,
    CouponStatus,
    CouponTemplate,
    Entry,
    Lot,
)

CHUNK = 2000


@dataclass(frozen=True)
class Problem:
    """One thing that does not add up: what (``kind`` and ``object_id``) and why."""

    kind: str  # "account", "coupon", "coupon template" or "benefit card"
    object_id: int
    message: str

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}: {self.message}"


def check_ledgers() -> list[Problem]:
    """Every problem found in the points and stored value accounts, coupons and benefit cards."""
    return [*_accounts(), *_coupons(), *_cards()]


def _accounts() -> Iterator[Problem]:
    lots = dict(Lot.objects.values("account_id").annotate(open=Sum("remaining")).values_list("account_id", "open"))
    accounts = Account.objects.order_by("pk").values_list("pk", "balance")
    last_id = 0
    while True:
        chunk = list(accounts.filter(pk__gt=last_id)[:CHUNK])
        if not chunk:
            return
        last_id = chunk[-1][0]
        running: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for entry_id, account_id, amount, balance_after in (
            Entry.objects.filter(account_id__gte=chunk[0][0], account_id__lte=last_id)
            .order_by("account_id", "id")
            .values_list("pk", "account_id", "amount", "balance_after")
            .iterator(chunk_size=CHUNK)
        ):
            running[account_id] += amount
            if running[account_id] != balance_after:
                yield Problem(
                    "account",
                    account_id,
                    f"entry #{entry_id}: balance after {balance_after}, but the entries up to it add up to "
                    f"{running[account_id]}",
                )
                running[account_id] = balance_after  # report each break once, not every entry after it
            if balance_after < 0:
                yield Problem("account", account_id, f"entry #{entry_id}: balance after {balance_after} is negative")
        for account_id, balance in chunk:
            total = running.get(account_id, ZERO)
            if total != balance:
                yield Problem("account", account_id, f"balance {balance}, but its last entry says {total}")
            held = lots.get(account_id) or ZERO
            if held != balance:
                yield Problem("account", account_id, f"balance {balance}, but its open lots hold {held}")


def _coupons() -> Iterator[Problem]:
    redeemed_events = CouponEvent.objects.filter(kind=CouponEvent.Kind.REDEEM)
    for pk, redeemed_at, order in (
        Coupon.objects.filter(status=CouponStatus.REDEEMED)
        .filter(Q(redeemed_at__isnull=True) | Q(redeemed_order="") | ~Q(pk__in=redeemed_events.values("coupon_id")))
        .values_list("pk", "redeemed_at", "redeemed_order")
        .iterator(chunk_size=CHUNK)
    ):
        missing = [
            what
            for what, absent in (
                ("when", redeemed_at is None),
                ("on which order", not order),
                ("a redemption in its history", not redeemed_events.filter(coupon_id=pk).exists()),
            )
            if absent
        ]
        yield Problem("coupon", pk, "redeemed, but without " + ", ".join(missing))
    for pk in (
        Coupon.objects.filter(redeemed_at__lt=F("issued_at")).values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    ):
        yield Problem("coupon", pk, "redeemed before it was issued")
    held = Coupon.objects.exclude(status=CouponStatus.AVAILABLE).values("template_id").annotate(n=Count("pk"))
    counts = {row["template_id"]: row["n"] for row in held}
    for pk, issued_count in CouponTemplate.objects.values_list("pk", "issued_count"):
        if counts.get(pk, 0) != issued_count:
            yield Problem("coupon template", pk, f"{issued_count} issued, but {counts.get(pk, 0)} coupons were")


def _cards() -> Iterator[Problem]:
    cards = BenefitCard.objects.annotate(last_end=Max("periods__ends_at"), periods_count=Count("periods"))
    for pk, ends_at, last_end, periods in cards.values_list("pk", "ends_at", "last_end", "periods_count").iterator(
        chunk_size=CHUNK
    ):
        if not periods:
            yield Problem("benefit card", pk, "has no period (no purchase or gift on record)")
        elif last_end != ends_at:
            yield Problem("benefit card", pk, f"ends {ends_at:%Y-%m-%d %H:%M}, but its last period ends {last_end}")
