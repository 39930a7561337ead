"""Opening balances: the state of the loyalty system a merchant leaves, written once, set-based.

An opening is what a member held on the day of the move: points (one lot, with the expiry the old
system gave them, not earned under today's rules), stored value principal and bonus (apart, as the
ledger keeps them), and a level with its valid-until. Each balance becomes one ``opening`` entry
per account under the key ``opening:<asset>:<customer>``, with its lot, written for a whole batch
of members with a few multi-row statements. The ledger's rules hold as for any credit: the entry's
balance-after is the locked balance plus the amount, the balance moves with it, a lot holds it.

Posting the same opening again changes nothing; a different amount for an account that already
has its opening is refused (an adjustment is the way to correct it). A level given here is set
without a :class:`~rapport.loyalty.models.LevelChange` (no "upgrade" reward or journey fires for
it), and the review keeps it until its valid-until. Openings earn no growth: growth counts what
was earned, and an opening was earned elsewhere.

A benefit card the member holds becomes the card with one period under the key
``opening:card:<customer>:<card type>`` (no price paid here, no welcome coupon: the old system's
coupons come as coupons); unused coupons keep their codes, each issued to the member with an
issue event under ``opening:coupon:<code>``, counted in its template's issued count. Checked
first, written after: a member whose card or coupons are refused gets nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.errors import FieldError
from rapport.loyalty.models import (
    Account,
    Asset,
    BenefitCard,
    CardPeriod,
    CardType,
    Coupon,
    CouponEvent,
    CouponStatus,
    CouponTemplate,
    Entry,
    EntryKind,
    Level,
    Lot,
    Membership,
)
from rapport.loyalty.services.coupons import template_validity

# The file's field for each asset: errors about an account's opening name it.
ASSET_FIELDS: dict[str, str] = {Asset.POINTS: "points", Asset.PRINCIPAL: "principal", Asset.BONUS: "bonus"}


@dataclass
class Opening:
    """One member's opening state; ``None`` means "not given" (a zero balance opens nothing)."""

    customer_id: int
    points: Decimal | None = None
    points_expires_at: datetime | None = None
    principal: Decimal | None = None
    bonus: Decimal | None = None
    level_id: int | None = None
    level_valid_until: datetime | None = None
    card_type_id: int | None = None
    card_ends_at: datetime | None = None  # None: the card type's validity from the import
    coupon_template_id: int | None = None
    coupon_codes: list[str] = field(default_factory=list)
    coupon_valid_until: datetime | None = None  # None: the template's own validity
    # filled by open_balances: what happened to this member
    created: bool = False
    changed: bool = False
    errors: list[FieldError] = field(default_factory=list)

    def balances(self) -> dict[str, Decimal]:
        given = {Asset.POINTS: self.points, Asset.PRINCIPAL: self.principal, Asset.BONUS: self.bonus}
        return {asset: amount for asset, amount in given.items() if amount}


def opening_key(asset: str, customer_id: int) -> str:
    return f"opening:{asset}:{customer_id}"


def card_key(customer_id: int, card_type_id: int) -> str:
    return f"opening:card:{customer_id}:{card_type_id}"


def coupon_key(code: str) -> str:
    return f"opening:coupon:{code}"


def levels_by_name() -> dict[str, int]:
    """Level name (case-folded) → id, to read the level a file names."""
    return {name.casefold(): pk for pk, name in Level.objects.values_list("pk", "name")}


def card_types_by_name() -> dict[str, int]:
    """Benefit card type name (case-folded) → id."""
    return {name.casefold(): pk for pk, name in CardType.objects.values_list("pk", "name")}


def coupon_templates_by_name() -> dict[str, list[int]]:
    """Coupon template name (case-folded) → ids (names need not be unique: more than one is ambiguous)."""
    found: dict[str, list[int]] = {}
    for pk, name in CouponTemplate.objects.order_by("pk").values_list("pk", "name"):
        found.setdefault(name.casefold(), []).append(pk)
    return found


def open_balances(openings: list[Opening], *, actor_label: str, reference: str = "") -> None:
    """Write the openings of a batch of distinct members inside the caller's transaction.

    Each opening's ``created``/``changed``/``errors`` say what happened; a member with errors
    gets nothing written.
    """
    now = timezone.now()
    fresh = _not_yet_posted(openings)
    cards = _cards_to_open(openings)
    coupons = _coupons_to_open(openings, now)
    fresh = [item for item in fresh if not item[0].errors]
    cards = [o for o in cards if not o.errors]
    coupons = [(o, code) for o, code in coupons if not o.errors]
    for opening in [item[0] for item in fresh] + cards + [o for o, _code in coupons]:
        opening.created = True
    _post(fresh, now, actor_label=actor_label[:150], reference=reference[:200])
    _set_levels([o for o in openings if not o.errors], now)
    _open_cards(cards, now, actor_label=actor_label[:150])
    _issue_coupons(coupons, now, actor_label=actor_label[:150], reference=reference[:200])


def _not_yet_posted(openings: list[Opening]) -> list[tuple[Opening, str, Decimal]]:
    """The balances without their opening entry yet; one posted before with another amount (or
    points with another expiry) is an error on its member."""
    wanted = {opening_key(asset, o.customer_id): (o, asset) for o in openings for asset in o.balances()}
    posted = {
        key: (amount, expires)
        for key, amount, expires in Entry.objects.filter(idempotency_key__in=list(wanted)).values_list(
            "idempotency_key", "amount", "lot__expires_at"
        )
    }
    fresh: list[tuple[Opening, str, Decimal]] = []
    for key, (opening, asset) in wanted.items():
        if key not in posted:
            fresh.append((opening, asset, opening.balances()[asset]))
            continue
        amount, expires = posted[key]
        given = opening.balances()[asset]
        same_expiry = asset != Asset.POINTS or expires == opening.points_expires_at
        if Decimal(amount) != given or not same_expiry:
            opening.errors.append(
                FieldError(
                    ASSET_FIELDS[asset],
                    "opening_exists",
                    _(
                        "An opening balance of %(amount)s was already imported for this member; "
                        "correct it with an adjustment."
                    )
                    % {"amount": Decimal(amount).normalize()},
                )
            )
    return fresh


def _post(items: list[tuple[Opening, str, Decimal]], now: datetime, *, actor_label: str, reference: str) -> None:
    if not items:
        return
    amounts = {(o.customer_id, asset): amount for o, asset, amount in items}
    opened = _open_accounts(amounts, now)
    held = _lock(set(amounts) - set(opened))
    entries: list[Entry] = []
    for opening, asset, amount in items:
        pair = (opening.customer_id, asset)
        account = opened.get(pair) or held[pair]
        if pair in held:
            account.balance += amount
        entries.append(
            Entry(
                account=account,
                kind=EntryKind.OPENING,
                amount=amount,
                balance_after=account.balance,
                idempotency_key=opening_key(asset, opening.customer_id),
                occurred_at=now,
                reference=reference,
                reason=_("Opening balance from the previous system"),
                actor=actor_label,
            )
        )
    Entry.objects.bulk_create(entries)
    if any(entry.pk is None for entry in entries):  # a backend that returns no ids from a multi-row insert
        keys = [e.idempotency_key for e in entries]
        ids = dict(Entry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "pk"))
        for entry in entries:
            entry.pk = ids[entry.idempotency_key]
    Lot.objects.bulk_create(
        Lot(
            account=entry.account,
            entry_id=entry.pk,
            earned_at=now,
            expires_at=opening.points_expires_at if asset == Asset.POINTS else None,
            amount=amount,
            remaining=amount,
        )
        for entry, (opening, asset, amount) in zip(entries, items, strict=True)
    )
    _move_balances(list(held.values()), now)


def _open_accounts(amounts: dict[tuple[int, str], Decimal], now: datetime) -> dict[tuple[int, str], Account]:
    """The accounts that do not exist yet, created holding their opening (no update after the entry);
    an account that exists (or that someone else creates meanwhile) is left to :func:`_lock`."""
    table = Account._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    pairs = sorted(amounts)
    opened: dict[tuple[int, str], Account] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 300):
            batch = pairs[start : start + 300]
            cursor.execute(
                f"INSERT INTO {table} (customer_id, asset, balance, updated_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s)'] * len(batch))} "
                "ON CONFLICT (customer_id, asset) DO NOTHING RETURNING id, customer_id, asset",
                [value for pair in batch for value in (*pair, amounts[pair], moment)],
            )
            for pk, customer_id, asset in cursor.fetchall():
                opened[(customer_id, asset)] = Account(
                    id=pk, customer_id=customer_id, asset=asset, balance=amounts[(customer_id, asset)]
                )
    return opened


def _lock(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Account]:
    """The accounts, locked in primary-key order (as ``ledger.lock_accounts`` does for one member)."""
    if not pairs:
        return {}
    customers = sorted({customer_id for customer_id, _asset in pairs})
    query = Account.objects.filter(customer_id__in=customers).order_by("pk")
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    return {(a.customer_id, a.asset): a for a in query if (a.customer_id, a.asset) in pairs}


def _move_balances(accounts: list[Account], now: datetime) -> None:
    """The accounts' new balances, 500 a statement (``bulk_update``'s CASE costs more than the rest)."""
    table = Account._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for start in range(0, len(accounts), 500):
            batch = accounts[start : start + 500]
            rows = ", ".join(["(%s, %s)"] * len(batch))
            cursor.execute(
                f"WITH moved (id, balance) AS (VALUES {rows}) "  # noqa: S608
                f"UPDATE {table} SET updated_at = %s, balance = moved.balance "
                f"FROM moved WHERE {table}.id = moved.id",
                [value for account in batch for value in (account.pk, account.balance)] + [moment],
            )


def _set_levels(openings: Iterable[Opening], now: datetime) -> None:
    """The level the file gives, with its valid-until: no level-change entry, so nothing reacts."""
    given = {o.customer_id: o for o in openings if o.level_id is not None}
    if not given:
        return
    stored = {m.customer_id: m for m in Membership.objects.filter(customer_id__in=list(given))}
    new: list[Membership] = []
    changed: list[Membership] = []
    for customer_id, opening in given.items():
        membership = stored.get(customer_id)
        if membership is None:
            new.append(
                Membership(
                    customer_id=customer_id,
                    level_id=opening.level_id,
                    level_since=now,
                    level_valid_until=opening.level_valid_until,
                )
            )
            opening.changed = True
            continue
        if (membership.level_id, membership.level_valid_until) == (opening.level_id, opening.level_valid_until):
            continue
        if membership.level_id != opening.level_id:
            membership.level_id, membership.level_since = opening.level_id, now
        membership.level_valid_until = opening.level_valid_until
        changed.append(membership)
        opening.changed = True
    Membership.objects.bulk_create(new, batch_size=1000)
    Membership.objects.bulk_update(changed, ["level", "level_since", "level_valid_until"], batch_size=1000)


def _cards_to_open(openings: list[Opening]) -> list[Opening]:
    """The members whose card is not open yet; a card opened before with another end, or a card of
    that type the member already holds in Rapport, is an error on the member."""
    given = {card_key(o.customer_id, o.card_type_id): o for o in openings if o.card_type_id is not None}
    if not given:
        return []
    opened = dict(CardPeriod.objects.filter(idempotency_key__in=list(given)).values_list("idempotency_key", "ends_at"))
    held = set(
        BenefitCard.objects.filter(customer_id__in={o.customer_id for o in given.values()}).values_list(
            "customer_id", "card_type_id"
        )
    )
    todo = []
    for key, opening in given.items():
        if key in opened:
            if opening.card_ends_at is not None and opened[key] != opening.card_ends_at:
                message = _("This card was already imported, ending %(date)s; change it in the console.")
                opening.errors.append(
                    FieldError("benefit_card_ends_at", "opening_exists", message % {"date": f"{opened[key]:%Y-%m-%d}"})
                )
        elif (opening.customer_id, opening.card_type_id) in held:
            message = _("The member already holds this card in Rapport; renew it there.")
            opening.errors.append(FieldError("benefit_card", "card_held", message))
        else:
            todo.append(opening)
    return todo


def _open_cards(openings: list[Opening], now: datetime, *, actor_label: str) -> None:
    given = [(o.customer_id, o.card_type_id, o.card_ends_at) for o in openings if o.card_type_id is not None]
    if not given:
        return
    types = {type_id for _c, type_id, _e in given}
    validity = dict(CardType.objects.filter(pk__in=types).values_list("pk", "validity_days"))
    cards = BenefitCard.objects.bulk_create(
        BenefitCard(
            customer_id=customer_id,
            card_type_id=type_id,
            starts_at=now,
            ends_at=ends_at or now + timedelta(days=validity[type_id]),
        )
        for customer_id, type_id, ends_at in given
    )
    if any(card.pk is None for card in cards):  # a backend that returns no ids from a multi-row insert
        ids = dict(
            ((customer_id, type_id), pk)
            for pk, customer_id, type_id in BenefitCard.objects.filter(
                customer_id__in=[c for c, _t, _e in given], card_type_id__in=types
            ).values_list("pk", "customer_id", "card_type_id")
        )
        for card in cards:
            card.pk = ids[(card.customer_id, card.card_type_id)]
    CardPeriod.objects.bulk_create(
        CardPeriod(
            card_id=card.pk,
            starts_at=now,
            ends_at=card.ends_at,
            idempotency_key=card_key(card.customer_id, card.card_type_id),
            created_at=now,
            actor=actor_label,
        )
        for card in cards
    )


def _coupons_to_open(openings: list[Opening], now: datetime) -> list[tuple[Opening, str]]:
    """The codes not imported yet, within their template's stock; a code that exists otherwise
    (another member's, another template's, or issued in Rapport) is an error on the member."""
    wanted = {code: o for o in openings if o.coupon_template_id is not None for code in o.coupon_codes}
    if not wanted:
        return []
    existing = {
        code: (customer_id, template_id)
        for code, customer_id, template_id in Coupon.objects.filter(code__in=list(wanted)).values_list(
            "code", "customer_id", "template_id"
        )
    }
    imported = set(
        CouponEvent.objects.filter(idempotency_key__in=[coupon_key(c) for c in existing]).values_list(
            "idempotency_key", flat=True
        )
    )
    templates = {
        t.pk: t
        for t in CouponTemplate.objects.select_for_update()
        .filter(pk__in={o.coupon_template_id for o in wanted.values()})
        .order_by("pk")
    }
    room = {pk: t.total_stock - t.issued_count if t.total_stock else None for pk, t in templates.items()}
    todo: list[tuple[Opening, str]] = []
    for code, opening in wanted.items():
        template = templates[opening.coupon_template_id]  # type: ignore[index]
        if code in existing:
            if coupon_key(code) not in imported or existing[code] != (opening.customer_id, template.pk):
                message = _("Coupon code %(code)s already exists in Rapport.")
                opening.errors.append(FieldError("coupon_codes", "taken", message % {"code": code}))
            continue
        ends = opening.coupon_valid_until or template_validity(template, now)[1]
        if ends is not None and ends <= now:
            message = _("The coupon %(name)s has ended; give the codes' valid-until.")
            opening.errors.append(FieldError("coupon_valid_until", "expired", message % {"name": template.name}))
            continue
        if room[template.pk] is not None:
            if room[template.pk] <= 0:  # type: ignore[operator]
                message = _("All of these coupons have been given out (stock %(stock)s).")
                opening.errors.append(
                    FieldError("coupon_codes", "out_of_stock", message % {"stock": template.total_stock})
                )
                continue
            room[template.pk] -= 1  # type: ignore[operator]
        todo.append((opening, code))
    return todo


def _issue_coupons(items: list[tuple[Opening, str]], now: datetime, *, actor_label: str, reference: str) -> None:
    if not items:
        return
    templates = {t.pk: t for t in CouponTemplate.objects.filter(pk__in={o.coupon_template_id for o, _c in items})}
    coupons = []
    for opening, code in items:
        template = templates[opening.coupon_template_id]  # type: ignore[index]
        valid_from, valid_until = template_validity(template, now)
        if opening.coupon_valid_until is not None:
            valid_from, valid_until = None, opening.coupon_valid_until
        coupons.append(
            Coupon(
                template=template,
                code=code,
                customer_id=opening.customer_id,
                status=CouponStatus.ISSUED,
                issued_at=now,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
    Coupon.objects.bulk_create(coupons)
    if any(coupon.pk is None for coupon in coupons):
        ids = dict(Coupon.objects.filter(code__in=[c.code for c in coupons]).values_list("code", "pk"))
        for coupon in coupons:
            coupon.pk = ids[coupon.code]
    CouponEvent.objects.bulk_create(
        CouponEvent(
            coupon_id=coupon.pk,
            kind=CouponEvent.Kind.ISSUE,
            idempotency_key=coupon_key(coupon.code),
            occurred_at=now,
            reference=reference,
            actor=actor_label,
        )
        for coupon in coupons
    )
    issued: dict[int, int] = {}
    for coupon in coupons:
        issued[coupon.template_id] = issued.get(coupon.template_id, 0) + 1
    for pk in sorted(issued):
        CouponTemplate.objects.filter(pk=pk).update(issued_count=F("issued_count") + issued[pk])
