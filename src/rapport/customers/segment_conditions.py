"""The ``consent`` condition of the segment rule language::

    {"type": "consent", "channel": "email", "purpose": "marketing", "granted": true}

"granted" means the decision in force, defaults included (marketing: no; service: yes), so a
segment of "who may receive marketing email" is exactly who a campaign may send to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.customers.consent import DEFAULT_GRANTED, consenting_q
from rapport.customers.models import Consent, ConsentChannel, ConsentPurpose
from rapport.segments import operators as ops
from rapport.segments.rules import ConditionType, Context, Facts, Field, register_condition, register_facts


class ConsentCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        channel, purpose, granted = condition.get("channel"), condition.get("purpose"), condition.get("granted", True)
        if channel not in ConsentChannel.values:
            raise ops.fail(f"{path}.channel", f"one of: {', '.join(ConsentChannel.values)}")
        if purpose not in ConsentPurpose.values:
            raise ops.fail(f"{path}.purpose", f"one of: {', '.join(ConsentPurpose.values)}")
        if not isinstance(granted, bool):
            raise ops.fail(f"{path}.granted", "true or false")
        return {"channel": channel, "purpose": purpose, "granted": granted}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        allowed = consenting_q(condition["channel"], condition["purpose"])
        return allowed if condition["granted"] else ~allowed

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        decided: dict[tuple[str, str], bool] = facts["consents"]
        key = (condition["channel"], condition["purpose"])
        state = decided.get(key, DEFAULT_GRANTED[ConsentPurpose(condition["purpose"])])
        return state == condition["granted"]


def _consent_facts(ids: list[int]) -> dict[int, Any]:
    decided: dict[int, dict[tuple[str, str], bool]] = defaultdict(dict)
    rows = Consent.objects.filter(customer_id__in=ids).values_list("customer_id", "channel", "purpose", "granted")
    for customer_id, channel, purpose, granted in rows:
        decided[customer_id][(channel, purpose)] = granted
    return {pk: decided.get(pk, {}) for pk in ids}


def register() -> None:
    register_facts("consents", _consent_facts)
    register_condition(
        ConsentCondition(
            "consent",
            _("Consent"),
            facts=("consents",),
            fields=(
                Field("channel", _("Channel"), "choice", choices=tuple(ConsentChannel.choices)),
                Field("purpose", _("Purpose"), "choice", choices=tuple(ConsentPurpose.choices)),
                Field("granted", _("Given"), "boolean", default=True),
            ),
        )
    )
