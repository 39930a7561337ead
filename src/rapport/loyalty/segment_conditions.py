"""Segment rule conditions on customers' assets::

    {"type": "loyalty_level", "op": "in" | "not_in", "levels": [3, "Gold"]}
    {"type": "asset_balance", "asset": "points" | "stored_value", "op": "gte", "value": "1000"}
    {"type": "coupon_state", "op": "has" | "has_none", "status": "issued", "template": 7}

A customer with no account has a balance of 0; with no level, ``not_in`` matches. In SQL each
test is an ``EXISTS`` or a correlated sum over the account rows; the Python reference evaluator
reads the same facts from one query per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from rapport.loyalty.models import (
    Account,
    Asset,
    BenefitCard,
    CardType,
    Coupon,
    CouponStatus,
    CouponTemplate,
    Level,
    Membership,
)
from rapport.segments import operators as ops
from rapport.segments.conditions import model_entity
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
)

BALANCE_ASSETS = {"points": [Asset.POINTS], "stored_value": [Asset.PRINCIPAL, Asset.BONUS]}
BALANCE_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
COUPON_STATES = (CouponStatus.ISSUED, CouponStatus.REDEEMED, CouponStatus.EXPIRED, CouponStatus.VOID)
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)


def _resolve_levels(raw: Any, path: str) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise ops.fail(path, "a list of level ids or names")
    ids = []
    for i, item in enumerate(raw):
        level = (
            Level.objects.filter(pk=item).first()
            if isinstance(item, int) and not isinstance(item, bool)
            else Level.objects.filter(name=str(item)).first()
        )
        if level is None:
            raise ops.fail(f"{path}.{i}", f"no level {item!r}", code="not_found")
        ids.append(level.pk)
    return sorted(set(ids))


class LevelCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("in", "not_in"):
            raise ops.fail(f"{path}.op", "one of: in, not_in")
        return {"op": op, "levels": _resolve_levels(condition.get("levels"), f"{path}.levels")}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        on_level = Q(Exists(Membership.objects.filter(customer=OuterRef("pk"), level_id__in=list(condition["levels"]))))
        return on_level if condition["op"] == "in" else ~on_level

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        on_level = facts["loyalty"]["level_id"] in set(condition["levels"])
        return on_level if condition["op"] == "in" else not on_level

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        level = Level.objects.filter(pk=facts["loyalty"]["level_id"]).first()
        return level.name if level else None


class BalanceCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        asset = condition.get("asset")
        if asset not in BALANCE_ASSETS:
            raise ops.fail(f"{path}.asset", "one of: points, stored_value")
        if condition.get("op") not in BALANCE_OPS:
            raise ops.fail(f"{path}.op", f"one of: {', '.join(BALANCE_OPS)}")
        op, value = ops.clean_operand("number", condition.get("op"), condition.get("value"), path)
        return {"asset": asset, "op": op, "value": value}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        held = (
            Account.objects.filter(customer=OuterRef("pk"), asset__in=BALANCE_ASSETS[condition["asset"]])
            .order_by()
            .values("customer")
            .annotate(total=Sum("balance"))
            .values("total")
        )
        balance = Coalesce(Subquery(held, output_field=MONEY), Value(Decimal("0"), output_field=MONEY))
        return ops.operand_q(balance, "number", condition["op"], condition["value"], context.now)

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        balance = self.actual(condition, facts, context)
        return ops.operand_matches(balance, "number", condition["op"], condition["value"], context.now)

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        held = facts["loyalty"]["balances"]
        return sum((held.get(asset, Decimal("0")) for asset in BALANCE_ASSETS[condition["asset"]]), Decimal("0"))


class CouponCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("has", "has_none"):
            raise ops.fail(f"{path}.op", "one of: has, has_none")
        status = condition.get("status")
        if status not in COUPON_STATES:
            raise ops.fail(f"{path}.status", f"one of: {', '.join(COUPON_STATES)}")
        template = condition.get("template")
        if template is not None:
            if not isinstance(template, int) or isinstance(template, bool):
                raise ops.fail(f"{path}.template", "a coupon template id")
            if not CouponTemplate.objects.filter(pk=template).exists():
                raise ops.fail(f"{path}.template", f"no coupon template #{template}", code="not_found")
        return {"op": op, "status": status, "template": template}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        held = Coupon.objects.filter(customer=OuterRef("pk"), status=condition["status"])
        if condition.get("template") is not None:
            held = held.filter(template_id=condition["template"])
        has = Q(Exists(held))
        return has if condition["op"] == "has" else ~has

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        has = self.actual(condition, facts, context) > 0
        return has if condition["op"] == "has" else not has

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """How many kinds of such coupons the customer holds (0 or 1 per template)."""
        held: set[tuple[int, str]] = facts["loyalty"]["coupons"]
        template = condition.get("template")
        return sum(1 for tid, status in held if status == condition["status"] and template in (None, tid))


class CardCondition(ConditionType):
    """Holds a benefit card (of one type, or any) in force now: started, not ended, not cancelled."""

    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("has", "has_none"):
            raise ops.fail(f"{path}.op", "one of: has, has_none")
        card_type = condition.get("card_type")
        if card_type is not None:
            if not isinstance(card_type, int) or isinstance(card_type, bool):
                raise ops.fail(f"{path}.card_type", "a card type id")
            if not CardType.objects.filter(pk=card_type).exists():
                raise ops.fail(f"{path}.card_type", f"no card type #{card_type}", code="not_found")
        return {"op": op, "card_type": card_type}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        cards = BenefitCard.objects.filter(
            customer=OuterRef("pk"), cancelled_at__isnull=True, starts_at__lte=context.now, ends_at__gt=context.now
        )
        if condition["card_type"] is not None:
            cards = cards.filter(card_type_id=condition["card_type"])
        has = Q(Exists(cards))
        return has if condition["op"] == "has" else ~has

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The card types in force the customer holds, by name."""
        wanted = condition["card_type"]
        return sorted(
            name
            for type_id, name, starts, ends, cancelled in facts["cards"]
            if wanted in (None, type_id) and cancelled is None and starts <= context.now < ends
        )

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        has = bool(self.actual(condition, facts, context))
        return has if condition["op"] == "has" else not has


def _card_facts(ids: list[int]) -> dict[int, Any]:
    held: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = BenefitCard.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "card_type_id", "card_type__name", "starts_at", "ends_at", "cancelled_at"
    )
    for customer_id, *card in rows:
        held[customer_id].append(tuple(card))
    return {pk: held.get(pk, []) for pk in ids}


def _loyalty_facts(ids: list[int]) -> dict[int, Any]:
    levels = dict(Membership.objects.filter(customer_id__in=ids).values_list("customer_id", "level_id"))
    balances: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for customer_id, asset, balance in Account.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "asset", "balance"
    ):
        balances[customer_id][asset] = balance
    coupons: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for customer_id, template_id, status in Coupon.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "template_id", "status"
    ):
        coupons[customer_id].add((template_id, status))
    return {
        pk: {"level_id": levels.get(pk), "balances": balances.get(pk, {}), "coupons": coupons.get(pk, set())}
        for pk in ids
    }


def _level_source() -> list[dict[str, Any]]:
    return [{"value": level.pk, "label": level.name} for level in Level.objects.all()]


def register() -> None:
    from rapport.segments.rules import register_source

    register_entity(
        model_entity(
            "coupon_template",
            _("Coupon template"),
            lambda: CouponTemplate.objects.order_by("name"),
            permission="loyalty.view_coupon",
        )
    )
    register_entity(
        model_entity(
            "card_type", _("Benefit card"), lambda: CardType.objects.order_by("name"), permission="loyalty.view_account"
        )
    )
    register_facts("loyalty", _loyalty_facts)
    register_source("loyalty_levels", _level_source)
    register_condition(
        LevelCondition(
            "loyalty_level",
            _("Member level"),
            facts=("loyalty",),
            fields=(
                Field(
                    "op",
                    _("Test"),
                    "choice",
                    choices=(("in", ops.OP_LABELS["in"]), ("not_in", ops.OP_LABELS["not_in"])),
                ),
                Field("levels", _("Levels"), "multi", source="loyalty_levels"),
            ),
        )
    )
    register_condition(
        BalanceCondition(
            "asset_balance",
            _("Points or stored value balance"),
            facts=("loyalty",),
            fields=(
                Field(
                    "asset",
                    _("Balance"),
                    "choice",
                    choices=(("points", _("Points")), ("stored_value", _("Stored value"))),
                ),
                Field("op", _("Operator"), "operator", operand_kind="number"),
                Field("value", _("Value"), "operand", operand_kind="number"),
            ),
        )
    )
    register_condition(
        CouponCondition(
            "coupon_state",
            _("Coupons"),
            facts=("loyalty",),
            fields=(
                Field(
                    "op", _("Test"), "choice", choices=(("has", _("has a coupon")), ("has_none", _("has no coupon")))
                ),
                Field("status", _("State"), "choice", choices=tuple((s.value, s.label) for s in COUPON_STATES)),
                Field("template", _("Template"), "integer", required=False, entity="coupon_template"),
            ),
        )
    )
    register_facts("cards", _card_facts)
    register_condition(
        CardCondition(
            "benefit_card",
            _("Benefit card"),
            facts=("cards",),
            fields=(
                Field(
                    "op", _("Test"), "choice", choices=(("has", _("holds a card")), ("has_none", _("holds no card")))
                ),
                Field("card_type", _("Card"), "integer", required=False, entity="card_type"),
            ),
        )
    )
