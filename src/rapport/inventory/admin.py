from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.inventory.models import Location, StockItem, StockMovement


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "kind", "store", "is_default"]


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    """Levels change through movements (the console's stock page and the API), never by editing."""

    list_display = ["product", "location", "on_hand", "lead_time_days", "reorder_quantity"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    """The ledger is append-only."""

    list_display = ["created_at", "item", "kind", "quantity", "order", "actor"]
