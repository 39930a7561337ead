"""Segment rule conditions on promotions::

    {"type": "promotion_used", "op": "did" | "did_not", "promotion": 7, "window_days": 30}
    {"type": "personal_promotion", "op": "has" | "has_none", "promotion": 7}

``promotion_used``: the customer redeemed an order with the promotion (any promotion when
``promotion`` is left out), within the last ``window_days`` when given; a use a refund gave back in
full does not count. ``personal_promotion``: the customer holds a personal promotion (that one, or
any) valid now — granted, not yet expired, the promotion switched on. ``promotion`` is an id or a
promotion's code. In SQL each is one ``EXISTS``; the reference evaluator reads the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from rapport.promotions.models import PersonalPromotion, Promotion, PromotionUse
from rapport.segments import operators as ops
from rapport.segments.conditions import DID, WINDOW, model_entity, window_start
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
)

HAS = (("has", _("holds one")), ("has_none", _("holds none")))


def _promotion_id(condition: Mapping[str, Any], path: str) -> int | None:
    """The promotion a condition names (by id or code), or None for any."""
    ref = condition.get("promotion")
    if ref in (None, ""):
        return None
    if isinstance(ref, int) and not isinstance(ref, bool):
        found = Promotion.objects.filter(pk=ref).values_list("pk", flat=True).first()
    elif isinstance(ref, str):
        found = Promotion.objects.filter(code=ref).values_list("pk", flat=True).first()
    else:
        raise ops.fail(f"{path}.promotion", "a promotion's id or code")
    if found is None:
        raise ops.fail(f"{path}.promotion", f"no promotion {ref!r}", code="not_found")
    return found


class UsedCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("did", "did_not"):
            raise ops.fail(f"{path}.op", "one of: did, did_not")
        return {
            "op": op,
            "promotion": _promotion_id(condition, path),
            "window_days": ops.clean_window(condition, path),
        }

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        uses = PromotionUse.objects.filter(customer_id=OuterRef("pk"), reversed_amount__lt=F("amount"))
        if condition["promotion"] is not None:
            uses = uses.filter(promotion_id=condition["promotion"])
        start = window_start(condition.get("window_days"), context.now)
        if start:
            uses = uses.filter(created_at__gte=start)
        did = Q(Exists(uses))
        return did if condition["op"] == "did" else ~did

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """How many orders the customer used such a promotion on."""
        start = window_start(condition.get("window_days"), context.now)
        return sum(
            1
            for promotion_id, created_at, amount, reversed_amount in facts["promotions"]["uses"]
            if condition["promotion"] in (None, promotion_id)
            and reversed_amount < amount
            and (start is None or created_at >= start)
        )

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        did = self.actual(condition, facts, context) > 0
        return did if condition["op"] == "did" else not did


class PersonalCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        op = condition.get("op")
        if op not in ("has", "has_none"):
            raise ops.fail(f"{path}.op", "one of: has, has_none")
        return {"op": op, "promotion": _promotion_id(condition, path)}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        grants = PersonalPromotion.objects.filter(
            customer_id=OuterRef("pk"),
            valid_from__lte=context.now,
            valid_until__gt=context.now,
            promotion__is_active=True,
        )
        if condition["promotion"] is not None:
            grants = grants.filter(promotion_id=condition["promotion"])
        has = Q(Exists(grants))
        return has if condition["op"] == "has" else ~has

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The codes of the personal promotions valid now that the customer holds."""
        return sorted(
            {
                code
                for promotion_id, code, valid_from, valid_until, is_active in facts["promotions"]["grants"]
                if condition["promotion"] in (None, promotion_id)
                and is_active
                and valid_from <= context.now < valid_until
            }
        )

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        has = bool(self.actual(condition, facts, context))
        return has if condition["op"] == "has" else not has


def _promotion_facts(ids: list[int]) -> dict[int, Any]:
    uses: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for customer_id, *use in PromotionUse.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "promotion_id", "created_at", "amount", "reversed_amount"
    ):
        uses[customer_id].append(tuple(use))
    grants: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for customer_id, *grant in PersonalPromotion.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "promotion_id", "promotion__code", "valid_from", "valid_until", "promotion__is_active"
    ):
        grants[customer_id].append(tuple(grant))
    return {pk: {"uses": uses.get(pk, []), "grants": grants.get(pk, [])} for pk in ids}


def register() -> None:
    register_entity(
        model_entity(
            "promotion",
            _("Promotion"),
            lambda: Promotion.objects.order_by("name", "code"),
            search=("name", "code"),
            permission="promotions.view_promotion",
        )
    )
    register_facts("promotions", _promotion_facts)
    promotion = Field("promotion", _("Promotion (empty: any)"), "integer", required=False, entity="promotion")
    register_condition(
        UsedCondition(
            "promotion_used",
            _("Used a promotion"),
            facts=("promotions",),
            fields=(Field("op", _("Test"), "choice", choices=DID), promotion, WINDOW),
        )
    )
    register_condition(
        PersonalCondition(
            "personal_promotion",
            _("Holds a valid personal promotion"),
            facts=("promotions",),
            fields=(Field("op", _("Test"), "choice", choices=HAS), promotion),
        )
    )
