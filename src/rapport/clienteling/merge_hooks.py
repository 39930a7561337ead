"""When two customers merge, the merged customer's tasks, recorded contacts and shared links go to the survivor
(the merged one is deleted afterwards, which would otherwise take them with it). Care reminders
are left to go: the next daily run makes the survivor's."""

from __future__ import annotations

from rapport.clienteling.models import Contact, SharedLink, Task
from rapport.customers.merge import register_merge_hook
from rapport.customers.models import Customer


def move_tasks_and_contacts(survivor: Customer, merged: Customer) -> int:
    tasks = Task.objects.filter(customer=merged).update(customer=survivor)
    moved = tasks + Contact.objects.filter(customer=merged).update(customer=survivor)
    return moved + SharedLink.objects.filter(customer=merged).update(customer=survivor)


def register() -> None:
    register_merge_hook("clienteling", move_tasks_and_contacts)
