"""Tasks' part in a data-subject request: tasks stay (they count in staff completion), their
free text (title and notes, which may say anything about the person) is blanked."""

from __future__ import annotations

from rapport.clienteling.models import Task
from rapport.customers.models import Customer
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {"tasks": rows(Task.objects.filter(customer=customer))}


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    return {"task_texts_erased": Task.objects.filter(customer=customer).update(title="—", notes="")}


def register() -> None:
    register_privacy_hook(PrivacyHook("clienteling", ("clienteling.Task",), export, erase))
