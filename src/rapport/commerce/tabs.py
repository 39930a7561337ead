"""The customer 360 "Orders" tab."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.commerce.models import Order
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.core.listing import page_offset, paginate
from rapport.customers.models import Customer


def orders(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    customer_orders = Order.objects.filter(customer=customer).select_related("store")
    return {"orders_page": paginate(customer_orders, limit=25, offset=page_offset(request.GET.get("page"), 25))}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "orders", _("Orders"), "commerce/tabs/orders.html", orders, position=20, permission="commerce.view_order"
        )
    )
