"""Opportunities' part in a data-subject request: they stay with their figures (value, stage,
dates: the forecast and won sales count them), their free text (title, lost reason and the
activities' notes, which may say anything about the person) is blanked."""

from __future__ import annotations

from rapport.customers.models import Customer
from rapport.opportunities.models import Activity, Opportunity
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {
        "opportunities": rows(Opportunity.objects.filter(customer=customer)),
        "opportunity_activities": rows(Activity.objects.filter(opportunity__customer=customer)),
    }


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    erased = Opportunity.objects.filter(customer=customer).update(title="—", lost_reason="")
    notes = Activity.objects.filter(opportunity__customer=customer).exclude(kind="stage").update(text="")
    return {"opportunity_texts_erased": erased, "opportunity_notes_erased": notes}


def register() -> None:
    register_privacy_hook(
        PrivacyHook("opportunities", ("opportunities.Opportunity", "opportunities.Activity"), export, erase)
    )
