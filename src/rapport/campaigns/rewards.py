"""Journey steps and triggers that touch the customer's assets (coupons, points, levels).

They call :mod:`rapport.loyalty`'s services; until those exist the step types are refused at
validation with a clear message, and no plan can reach them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.campaigns.models import Step
from rapport.core.errors import FieldError

TRIGGERS: dict[str, str] = {}
UNAVAILABLE = {Step.Kind.COUPON, Step.Kind.POINTS}


def catalogue() -> dict[str, Any]:
    """What the builder offers for reward steps (coupon templates); empty without the services."""
    return {}


def clean_step(kind: str, path: str, config: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    errors.append(
        FieldError(f"{path}.kind", "unavailable", f"{kind} steps need the loyalty services, not installed yet")
    )
    return {}


def issue(step: Step, enrollments: Sequence[tuple[int, int]], *, now: dt.datetime) -> None:
    raise RuntimeError(f"step {step.kind} cannot run without the loyalty services")
