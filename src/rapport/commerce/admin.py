from django.contrib import admin

from rapport.commerce.models import Category, CustomerStats, Order, OrderLine, Product, Refund
from rapport.core.admin import ReadOnlyAdmin


class OrderLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["sku", "name", "quantity", "unit_price", "line_total", "product"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["channel", "external_id", "customer", "store", "status", "total", "refunded_total", "placed_at"]
    list_filter = ["status", "channel", "store"]
    search_fields = ["external_id"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["order", "external_id", "amount", "status", "refunded_at"]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["sku", "name", "category", "price", "currency", "is_active"]
    search_fields = ["sku", "name"]
    list_filter = ["category", "is_active"]


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "parent"]


@admin.register(CustomerStats)
class CustomerStatsAdmin(ReadOnlyAdmin):
    list_display = ["customer", "order_count", "net_spent", "average_order_value", "last_order_at"]
