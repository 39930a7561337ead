"""The home dashboard's low-stock panel (库存预警, in-app): the open warnings of the staff member's
store (all stores for staff without one), newest first, linking to the stock list."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.accounts.services import staff_store_id
from rapport.console.home import HomePanel, register_home_panel
from rapport.inventory.models import LowStockAlert

SHOWN = 5


def low_stock_panel(request: HttpRequest) -> dict[str, Any] | None:
    alerts = LowStockAlert.objects.filter(closed_at=None).select_related("item__product", "item__location")
    store_id = staff_store_id(request.user)
    if store_id is not None:
        alerts = alerts.filter(item__location__store_id=store_id)
    count = alerts.count()
    if not count:
        return None
    return {"count": count, "alerts": list(alerts[:SHOWN])}


def register() -> None:
    register_home_panel(
        HomePanel(
            "low_stock",
            _("Low stock"),
            "inventory/home_low_stock.html",
            low_stock_panel,
            position=45,
            permission="inventory.view_stockitem",
        )
    )
