"""Low-stock warnings (库存预警): raised once when an item falls to its reorder point, closed when
it recovers, so staff hear about a product and location once per shortage however often the
forecast runs or the level moves.

Raised warnings show on the console's home page (in-app) and go by email to the responsible
staff — those who may change stock, of the location's store or of no store — through the one
staff delivery path (``campaigns.delivery.notify_staff``), after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from rapport.campaigns.delivery import notify_staff
from rapport.core.public_url import public_url
from rapport.inventory.models import Location, LowStockAlert, StockItem

logger = logging.getLogger(__name__)


def _open_alerts() -> Q:
    return Q(closed_at=None)


def check_low_stock(*, now: dt.datetime | None = None, item_ids: Iterable[int] | None = None) -> list[LowStockAlert]:
    """Close the warnings of items back above their reorder point and raise one for each item at
    or below it without an open one; returns the warnings raised (notified after commit)."""
    now = now or timezone.now()
    items = StockItem.objects.all() if item_ids is None else StockItem.objects.filter(pk__in=list(item_ids))
    low = Q(plan__reorder_point__gt=0, on_hand__lte=F("plan__reorder_point"))
    recovered = items.exclude(low).values("pk")
    LowStockAlert.objects.filter(_open_alerts(), item__in=recovered).update(closed_at=now)
    open_alert = LowStockAlert.objects.filter(_open_alerts(), item=OuterRef("pk"))
    found = list(items.filter(low).exclude(Exists(open_alert)).values_list("pk", "on_hand", "plan__reorder_point"))
    LowStockAlert.objects.bulk_create(
        [LowStockAlert(item_id=pk, on_hand=on_hand, reorder_point=rop, opened_at=now) for pk, on_hand, rop in found],
        ignore_conflicts=True,  # a concurrent check raised it first: the constraint keeps one
    )
    raised = list(
        LowStockAlert.objects.filter(item_id__in=[pk for pk, _h, _r in found], opened_at=now).select_related(
            "item__product", "item__location"
        )
    )
    if raised:
        transaction.on_commit(lambda: notify(raised))
    return raised


def responsible_staff(location: Location) -> list[str]:
    """Email addresses of active staff who may change stock, of this location's store or of none."""
    may_change = (
        Q(is_superuser=True)
        | Q(user_permissions__codename="change_stockitem", user_permissions__content_type__app_label="inventory")
        | Q(groups__permissions__codename="change_stockitem", groups__permissions__content_type__app_label="inventory")
    )
    where = Q(staff_profile=None) | Q(staff_profile__store=None)
    if location.store_id is not None:
        where |= Q(staff_profile__store_id=location.store_id)
    users = get_user_model().objects.filter(may_change, where, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def notify(raised: list[LowStockAlert]) -> None:
    """One email per location to its responsible staff; a delivery fault is logged, not raised."""
    by_location: dict[int, list[LowStockAlert]] = defaultdict(list)
    for alert in raised:
        by_location[alert.item.location_id].append(alert)
    for alerts in by_location.values():
        location = alerts[0].item.location
        recipients = responsible_staff(location)
        if not recipients:
            continue
        lines = [
            f"{a.item.product.sku} {a.item.product.name}: {a.on_hand} on hand, reorder point {a.reorder_point}"
            for a in alerts
        ]
        body = "\n".join([*lines, f"{public_url()}/stock/?location={location.code}&status=low"]) + "\n"
        try:
            notify_staff(
                recipients,
                subject=f"库存预警 Low stock at {location.name}: {len(alerts)}",
                body=body,
                reference=f"low-stock:{location.code}",
            )
        except Exception:  # the warning stays open and visible in the console
            logger.exception("could not email the low-stock warning for %s", location.code)
