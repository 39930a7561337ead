"""When two customers merge, the survivor takes the merged customer's tickets and chats."""

from __future__ import annotations

from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer
from rapport.service.models import BotConversation, Ticket


def move_tickets(survivor: Customer, merged: Customer) -> int:
    moved = Ticket.objects.filter(customer=merged).update(customer=survivor)
    BotConversation.objects.filter(customer=merged).update(customer=survivor)
    return moved


def register() -> None:
    register_merge_hook("service", move_tickets)
