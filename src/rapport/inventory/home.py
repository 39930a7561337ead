"""The home dashboard's low-stock panel: items sold out or below their reorder quantity, from the
published read module (:func:`rapport.inventory.queries.low_stock`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.home import HomePanel, register_home_panel
from rapport.inventory.queries import low_stock

SHOWN = 6


def low_stock_panel(request: HttpRequest) -> dict[str, Any] | None:
    items = low_stock()
    counts = items.aggregate(low=Count("pk"), sold_out=Count("pk", filter=Q(on_hand__lte=0)))
    if not counts["low"]:
        return None
    return {**counts, "items": list(items[:SHOWN])}


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
