"""Loyalty opening balances: each member's points (with their expiry), stored value principal and
bonus, level with its valid-until, member card number, benefit card and unused coupons (with
their codes), from the system a merchant leaves.

One row a member, named by the id the customers import gave them (``customer_external_id`` in the
job's channel): import customers first. Rows are checked here (numbers, dates, the level by name,
the card number free), then written for the whole chunk by
:func:`rapport.loyalty.services.opening.open_balances`, which keeps the ledger's rules. The card
number becomes an identity in the ``member_card`` channel, where the counter looks members up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import DomainError, FieldError
from rapport.customers.models import Identity, sealed_identities
from rapport.customers.queries import identity_owners
from rapport.imports import engine
from rapport.imports import mapping as m
from rapport.loyalty.services.opening import (
    Opening,
    card_types_by_name,
    coupon_templates_by_name,
    levels_by_name,
    open_balances,
)
from rapport.loyalty.services.points import whole_points

MEMBER_CARD_CHANNEL = "member_card"
KEY_FIELD = "customer_external_id"
FIELDS = [
    "customer_external_id",
    "channel",
    "card_number",
    "points",
    "points_expires_at",
    "principal",
    "bonus",
    "level",
    "level_valid_until",
    "benefit_card",
    "benefit_card_ends_at",
    "coupon_template",
    "coupon_codes",
    "coupon_valid_until",
]
ALIASES: dict[str, list[str]] = {
    "customer_external_id": [a for a in m.ALIASES[m.CUSTOMERS]["external_id"] if a != "会员卡号"],
    "channel": ["source", "渠道", "来源渠道"],
    "card_number": ["card_no", "card", "member_card", "member_card_no", "会员卡号", "卡号", "实体卡号", "会员卡"],
    "points": ["points_balance", "available_points", "积分", "积分余额", "可用积分", "当前积分", "剩余积分"],
    "points_expires_at": ["points_expiry", "points_expire_at", "积分到期时间", "积分过期时间", "积分有效期"],
    "principal": ["stored_value", "balance", "储值余额", "储值本金", "本金余额", "余额", "充值余额"],
    "bonus": ["gift_balance", "bonus_balance", "赠送余额", "赠金余额", "储值赠送金额", "赠送金额", "赠金"],
    "level": ["member_level", "tier", "会员等级", "等级", "客户等级"],
    "level_valid_until": ["level_expires_at", "tier_expires_at", "等级有效期", "等级到期时间", "等级过期时间"],
    "benefit_card": ["card_type", "benefit_card_type", "权益卡", "付费会员卡", "权益卡类型", "权益卡名称"],
    "benefit_card_ends_at": ["card_ends_at", "card_expires_at", "权益卡到期时间", "权益卡有效期", "权益卡过期时间"],
    "coupon_template": ["coupon", "coupon_name", "优惠券", "优惠券名称", "券名称"],
    "coupon_codes": ["coupon_code", "codes", "优惠券码", "券码", "未使用券码"],
    "coupon_valid_until": ["coupon_expires_at", "优惠券有效期", "优惠券到期时间", "券有效期"],
}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# codes in one cell: separated by semicolons, commas (also full-width), bars or spaces
_CODE_SEPARATORS = re.compile(r"[;,，；|\s]+")
CODE_MAX_LENGTH = 32


@dataclass
class _Row:
    unit: list[engine.Row]
    line: int
    channel: str
    external_id: str
    card: str
    opening: Opening


class LoyaltyMerger(engine.Merger):
    """Opening balances, a chunk of members at a time; each member once per file."""

    def __init__(self, plan: m.ColumnPlan, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self.levels = levels_by_name()
        self.card_types = card_types_by_name()
        self.coupon_templates = coupon_templates_by_name()
        self.cards = engine.DuplicateKeys()
        self.codes = engine.DuplicateKeys()
        self.members = engine.DuplicateKeys()

    def key_of(self, unit: list[engine.Row]) -> tuple[str, ...] | None:
        values = self.values(unit[0][1])
        external_id = values.get(KEY_FIELD, "")
        return (values.get("channel") or self.channel, external_id) if external_id else None

    def merge(self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome) -> None:
        with self.clock.phase("cleaning"):
            rows = self._clean(chunk, outcome)
        with self.clock.phase("merging"):
            self._write(rows, outcome)

    def _clean(self, chunk: list[list[engine.Row]], outcome: engine.ChunkOutcome) -> list[_Row]:
        parsed: list[tuple[list[engine.Row], str, str, dict[str, str], Opening]] = []
        for unit in chunk:
            outcome.rows += 1
            line, values = unit[0][0], self.values(unit[0][1])
            channel = values.get("channel") or self.channel
            external_id = values.get(KEY_FIELD, "")
            opening, errors = self._opening(values)
            if not external_id:
                errors.insert(0, FieldError(KEY_FIELD, "required", "the member's id in the channel is missing"))
            elif (first := self.keys.first_line((channel, external_id), line)) is not None:
                errors.insert(0, engine._duplicate_error(KEY_FIELD, external_id, first))
            if errors:
                outcome.reject(unit, [(line, e) for e in errors])
                continue
            parsed.append((unit, channel, external_id, values, opening))
        owners = _owners({(channel, ext) for _u, channel, ext, _v, _o in parsed})
        cards = _owners({(MEMBER_CARD_CHANNEL, v["card_number"]) for *_r, v, _o in parsed if v.get("card_number")})
        rows: list[_Row] = []
        for unit, channel, external_id, values, opening in parsed:
            line = unit[0][0]
            errors = []
            customer_id = owners.get((channel, external_id))
            card = values.get("card_number", "")
            if customer_id is None:
                errors.append(
                    FieldError(KEY_FIELD, "not_found", f"no customer known to {channel!r} as {external_id!r}")
                )
            else:
                errors.extend(self._member_errors(customer_id, card, cards, line, opening))
            if errors:
                outcome.reject(unit, [(line, e) for e in errors])
                continue
            assert customer_id is not None
            opening.customer_id = customer_id
            rows.append(_Row(unit, line, channel, external_id, card, opening))
        return rows

    def _member_errors(
        self, customer_id: int, card: str, cards: dict[tuple[str, str], int], line: int, opening: Opening
    ) -> list[FieldError]:
        errors = []
        first = self.members.first_line(("customer", str(customer_id)), line)
        if first is not None:
            errors.append(FieldError(KEY_FIELD, "duplicate_key", f"the same member is also on line {first}"))
        for code in opening.coupon_codes:
            if (first := self.codes.first_line((code,), line)) is not None:
                errors.append(engine._duplicate_error("coupon_codes", code, first))
                break
        if card:
            holder = cards.get((MEMBER_CARD_CHANNEL, card))
            if holder is not None and holder != customer_id:
                errors.append(FieldError("card_number", "taken", f"card {card!r} belongs to another customer"))
            elif (first := self.cards.first_line((card,), line)) is not None:
                errors.append(engine._duplicate_error("card_number", card, first))
        return errors

    def _opening(self, values: dict[str, str]) -> tuple[Opening, list[FieldError]]:
        errors: list[FieldError] = []
        opening = Opening(customer_id=0)
        now = timezone.now()
        if "points" in values:
            opening.points = _checked(errors, "points", lambda: _points(values["points"]))
        if "principal" in values:
            opening.principal = _checked(errors, "principal", lambda: _money(values["principal"], "principal"))
        if "bonus" in values:
            opening.bonus = _checked(errors, "bonus", lambda: _money(values["bonus"], "bonus"))
        if "points_expires_at" in values:
            opening.points_expires_at = self._future(values["points_expires_at"], "points_expires_at", now, errors)
        if "level" in values:
            opening.level_id = self.levels.get(values["level"].strip().casefold())
            if opening.level_id is None:
                known = ", ".join(sorted(self.levels)) or "none configured"
                errors.append(FieldError("level", "not_found", f"no level {values['level']!r}; levels: {known}"))
        if "level_valid_until" in values:
            opening.level_valid_until = self._future(values["level_valid_until"], "level_valid_until", now, errors)
            if "level" not in values:
                errors.append(FieldError("level_valid_until", "invalid", "a valid-until needs the level it is for"))
        self._benefit_card(values, opening, now, errors)
        self._coupons(values, opening, now, errors)
        return opening, errors

    def _benefit_card(self, values: dict[str, str], opening: Opening, now: datetime, errors: list[FieldError]) -> None:
        if "benefit_card" in values:
            opening.card_type_id = self.card_types.get(values["benefit_card"].strip().casefold())
            if opening.card_type_id is None:
                known = ", ".join(sorted(self.card_types)) or "none configured"
                message = f"no benefit card {values['benefit_card']!r}; cards: {known}"
                errors.append(FieldError("benefit_card", "not_found", message))
        if "benefit_card_ends_at" in values:
            opening.card_ends_at = self._future(values["benefit_card_ends_at"], "benefit_card_ends_at", now, errors)
            if "benefit_card" not in values:
                errors.append(FieldError("benefit_card_ends_at", "invalid", "an end date needs the card it is for"))

    def _coupons(self, values: dict[str, str], opening: Opening, now: datetime, errors: list[FieldError]) -> None:
        if "coupon_template" in values:
            name = values["coupon_template"].strip()
            ids = self.coupon_templates.get(name.casefold(), [])
            if len(ids) == 1:
                opening.coupon_template_id = ids[0]
            elif ids:
                errors.append(FieldError("coupon_template", "ambiguous", f"{len(ids)} coupons are named {name!r}"))
            else:
                errors.append(FieldError("coupon_template", "not_found", f"no coupon {name!r}"))
            if "coupon_codes" not in values:
                errors.append(FieldError("coupon_codes", "required", "the unused coupons' codes are missing"))
        if "coupon_codes" in values:
            codes = list(dict.fromkeys(c for c in _CODE_SEPARATORS.split(values["coupon_codes"]) if c))
            long = [c for c in codes if len(c) > CODE_MAX_LENGTH]
            if long:
                message = f"{long[0]!r} is longer than {CODE_MAX_LENGTH} characters"
                errors.append(FieldError("coupon_codes", "invalid", message))
            opening.coupon_codes = codes
            if "coupon_template" not in values:
                errors.append(FieldError("coupon_template", "required", "which coupon these codes are"))
        if "coupon_valid_until" in values:
            opening.coupon_valid_until = self._future(values["coupon_valid_until"], "coupon_valid_until", now, errors)

    def _future(self, text: str, name: str, now: datetime, errors: list[FieldError]) -> datetime | None:
        """A date-time in the job's time zone; a date alone means the end of that day."""
        day = m.date_text(text.strip())
        if _DATE_ONLY.match(day):
            text = f"{day} 23:59:59"
        try:
            moment = parse_aware_datetime(m.datetime_text(text, self.time_zone))
        except ValueError:
            errors.append(FieldError(name, "invalid", f"{text!r} is not a date, e.g. 2026-12-31"))
            return None
        if moment <= now:
            errors.append(FieldError(name, "expired", f"{text!r} is already past: nothing to open"))
            return None
        return moment

    def _write(self, rows: list[_Row], outcome: engine.ChunkOutcome) -> None:
        openings = [row.opening for row in rows]
        open_balances(openings, actor_label=self.history_label(), reference=self.history_label())
        now = timezone.now()
        known_cards = {
            card for _channel, card in identity_owners({(MEMBER_CARD_CHANNEL, r.card) for r in rows if r.card})
        }
        new_cards: list[Identity] = []
        for row in rows:
            opening = row.opening
            if opening.errors:
                outcome.reject(row.unit, [(row.line, e) for e in opening.errors])
                continue
            card_new = bool(row.card) and row.card not in known_cards
            if card_new:
                new_cards.append(
                    Identity(customer_id=opening.customer_id, channel=MEMBER_CARD_CHANNEL, external_id=row.card)
                )
            if opening.created:
                outcome.created += 1
            elif opening.changed or card_new:
                outcome.updated += 1
            else:
                outcome.unchanged += 1
                continue
            outcome.touched.add(opening.customer_id)
        sealed = sealed_identities([(i.customer_id, i.channel, i.external_id) for i in new_cards])
        for identity, (_customer, _channel, stored, index) in zip(new_cards, sealed, strict=True):
            identity.external_id, identity.external_index, identity.created_at = stored, index, now
        Identity.objects.bulk_create(new_cards, batch_size=1000)


def _owners(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(channel, external id) → customer."""
    return identity_owners(keys)


def _checked(errors: list[FieldError], name: str, read: Any) -> Any:
    try:
        return read()
    except DomainError as exc:
        errors.extend(exc.errors or [FieldError(name, "invalid", str(exc))])
        return None


def _points(text: str) -> Decimal | None:
    points = whole_points(text.replace(",", "").strip())
    if points < 0:
        raise _negative("points")
    return points or None


def _money(text: str, name: str) -> Decimal | None:
    from rapport.core.errors import InvalidInput

    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput.single(name, "invalid", f"{text!r} is not an amount of money") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput.single(name, "invalid", "an amount with at most two decimal places")
    if amount < 0:
        raise _negative(name)
    return amount or None


def _negative(name: str) -> DomainError:
    from rapport.core.errors import InvalidInput

    return InvalidInput.single(name, "negative", "an opening balance is zero or more")


MERGER = LoyaltyMerger
