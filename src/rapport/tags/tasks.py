"""Background jobs for tags: they take ids, look objects up and call a service; safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.tags import services, sync
from rapport.tags.models import Tag

logger = logging.getLogger(__name__)


@tracked_task(name="rapport.tags.evaluate_automatic_tags", label=_("Automatic tags evaluation"))
def evaluate_automatic_tags() -> dict[str, int]:
    """The scheduled run: every active automatic tag against every customer."""
    results = services.evaluate_all()
    summary = {"tags": len(results), "added": sum(r.added for r in results), "removed": sum(r.removed for r in results)}
    logger.info("automatic tags evaluated: %s", summary)
    return summary


@tracked_task(name="rapport.tags.evaluate_tag", label=_("Tag evaluation"))
def evaluate_tag_task(tag_id: int) -> dict[str, int]:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        return {"added": 0, "removed": 0}
    result = services.evaluate_tag(tag)
    return {"added": result.added, "removed": result.removed}


@shared_task(name="rapport.tags.reevaluate_customers")
def reevaluate_customers(customer_ids: list[int]) -> dict[str, int]:
    """The incremental path: automatic tags for customers whose events or orders just arrived."""
    results = services.reevaluate_for_customers(customer_ids)
    return {"added": sum(r.added for r in results), "removed": sum(r.removed for r in results)}


@tracked_task(name="rapport.tags.deliver_sync", label=_("Tag sync delivery to receivers"))
def deliver_tag_sync() -> dict[str, int]:
    """Send due tag-sync deliveries (also scheduled every minute, for retries)."""
    return sync.deliver_due()
