"""A personal promotion for tests here and in campaigns: 满199减30 that campaigns grant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from rapport.core.actor import Actor
from rapport.promotions.models import Audience, Promotion, PromotionKind
from rapport.promotions.services import create_promotion


def personal_promotion(code: str = "lapsed-gold", **fields: Any) -> Promotion:
    defaults: dict[str, Any] = {
        "code": code,
        "name": "Welcome back 满199减30",
        "kind": PromotionKind.FULL_REDUCTION,
        "audience": Audience.PERSONAL,
        "starts_at": timezone.now() - dt.timedelta(days=1),
        "tiers": [{"threshold": "199", "amount_off": "30"}],
    }
    promotion, _warnings = create_promotion({**defaults, **fields}, actor=Actor.system("test"))
    return promotion
