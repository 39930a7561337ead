"""When two customers merge, their orders go to the survivor and its statistics are rebuilt."""

from __future__ import annotations

from rapport.commerce.models import CustomerStats, Order
from rapport.commerce.stats import refresh_customer_stats
from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer


def move_orders(survivor: Customer, merged: Customer) -> int:
    moved = Order.objects.filter(customer=merged).update(customer=survivor)
    CustomerStats.objects.filter(customer=merged).delete()
    refresh_customer_stats([survivor.pk])
    return moved


def register() -> None:
    register_merge_hook("orders", move_orders)
