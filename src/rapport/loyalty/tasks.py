"""Scheduled and queued loyalty jobs: they take ids, look objects up and call a service; safe to
run twice (every write they cause has an idempotency key or is a state change done once)."""

from __future__ import annotations

import logging

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.actor import Actor
from rapport.core.jobs import tracked_task
from rapport.loyalty.models import CouponTemplate
from rapport.loyalty.services import coupons, levels, points

logger = logging.getLogger(__name__)
ACTOR = Actor.system("loyalty schedule")


@tracked_task(name="rapport.loyalty.expire_points", label=_("Points expiry"))
def expire_points() -> int:
    """Expire what is left of overdue lots (points, and stored value if it ever gets an expiry)."""
    written = points.expire_all()
    logger.info("loyalty: %s lots expired", written)
    return written


@tracked_task(name="rapport.loyalty.expire_coupons", label=_("Coupon expiry"))
def expire_coupons() -> int:
    return coupons.expire_all()


@tracked_task(name="rapport.loyalty.review_levels", label=_("Member level review"))
def review_levels() -> dict[str, int]:
    """Recompute growth for everyone; upgrade, keep or downgrade under the keep thresholds."""
    counts = levels.review_all(actor=ACTOR)
    logger.info("loyalty: level review %s", counts)
    return counts


@tracked_task(name="rapport.loyalty.birthday_gifts", label=_("Birthday gifts"))
def birthday_gifts() -> int:
    """Points for members whose birthday is today (store time zone), once per member and year."""
    today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    return levels.award_birthday_gifts(today=today, actor=ACTOR)


@tracked_task(name="rapport.loyalty.issue_to_segment", label=_("Coupon issue to a segment"), resumable=True)
def issue_to_segment(template_id: int, segment_id: int, key: str, actor_label: str) -> dict[str, object]:
    """Issue a coupon to every member of a saved segment (queued from the console or the API).
    Resumable: a second run issues under the same key, so members who have the coupon are skipped."""
    from rapport.segments.models import Segment
    from rapport.segments.services import segment_members

    template = CouponTemplate.objects.filter(pk=template_id).first()
    segment = Segment.objects.filter(pk=segment_id).first()
    if template is None or segment is None:
        return {"issued": 0, "skipped": {"missing": 1}}
    report = coupons.issue_to_many(template, segment_members(segment), key=key, actor=Actor.system(actor_label))
    return {"issued": report.issued, "skipped": report.skipped}
