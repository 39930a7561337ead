"""The "grant a personal promotion" step of campaign plans, published for campaigns (which owns
journeys but not promotions; the task step lives in clienteling the same way).

The step names a promotion of the personal audience and how many hours each grant lasts (72 by
default, never past the promotion's end). Everyone who reaches the step is granted it — unlike a
coupon, the offer needs no code: the checkout applies it by itself, so a customer no message reaches
still gets it. The grant's key is the enrollment's, so a chunk the engine redoes grants nothing twice,
and a customer entering the journey again is granted it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from rapport.core.errors import FieldError
from rapport.promotions import personal
from rapport.promotions.models import Audience, Promotion

DEFAULT_HOURS = 72


def catalogue() -> list[dict[str, Any]]:
    """The step's fields as the plan builder draws them (name, label, choices or input type)."""
    choices = [{"value": p.pk, "label": f"{p.name} ({p.code})"} for p in personal.templates()]
    return [
        {"name": "promotion", "label": _("Personal promotion"), "choices": choices},
        {"name": "hours", "label": _("Valid for (hours)"), "type": "number"},
    ]


def clean_config(path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """The step's settings, checked; each problem is added to ``errors`` under ``path``."""
    raw = str(config.get("promotion") or "").strip()
    promotion = Promotion.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    if promotion is None:
        errors.append(FieldError(f"{path}.promotion", "not_found", "a personal promotion's id"))
    elif promotion.audience != Audience.PERSONAL:
        errors.append(
            FieldError(f"{path}.promotion", "invalid", f"{promotion.code} is not for customers a campaign grants it to")
        )
    elif not personal.templates().filter(pk=promotion.pk).exists():
        errors.append(FieldError(f"{path}.promotion", "inactive", f"{promotion.code} is switched off or over"))
    hours: Any = config.get("hours")
    if hours in (None, ""):
        hours = DEFAULT_HOURS
    if isinstance(hours, str) and hours.strip().isdigit():
        hours = int(hours)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= personal.MAX_HOURS:
        errors.append(FieldError(f"{path}.hours", "invalid", f"whole hours from 1 to {personal.MAX_HOURS}"))
    return {"promotion": promotion.pk if promotion else None, "hours": hours}


def grant_for_enrollments(
    config: Mapping[str, Any], enrollments: Sequence[tuple[int, int]], *, plan_id: int, step_id: int, now: dt.datetime
) -> None:
    """Grant the step's promotion to each ``(enrollment id, customer id)``, inside the engine's chunk
    transaction. A promotion switched off since the plan was saved grants nothing."""
    promotion = Promotion.objects.filter(pk=int(config.get("promotion") or 0)).first()
    if promotion is None:
        return
    recipients = [
        (customer_id, f"plan:{plan_id}:step:{step_id}:enrollment:{enrollment_id}")
        for enrollment_id, customer_id in enrollments
    ]
    personal.grant(promotion, recipients, hours=int(config.get("hours") or DEFAULT_HOURS), now=now, plan_id=plan_id)
