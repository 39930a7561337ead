from django.contrib import admin

from rapport.core.admin import ReadOnlyAdmin
from rapport.inventory.models import ForecastRun, Location, LowStockAlert, StockItem, StockMovement, StockSubscription


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


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdmin):
    """Raised and closed by the stock level (rapport.inventory.alerts), never by hand."""

    list_display = ["opened_at", "item", "on_hand", "reorder_point", "closed_at"]


@admin.register(StockSubscription)
class StockSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "product", "source", "returned_at"]


@admin.register(ForecastRun)
class ForecastRunAdmin(ReadOnlyAdmin):
    list_display = ["computed_at", "series", "seconds"]
