"""Tasks', contacts' and care reminders' part in a data-subject request: they stay (they count in staff
completion and performance), their free text (title, notes, a contact's note: it may say anything
about the person) is blanked, and open care reminders are closed. Links shared with the person keep
their figures (opens, for staff performance) but lose their address and title, and stop working."""

from __future__ import annotations

from rapport.clienteling.models import Contact, Reminder, ReminderStatus, SharedLink, Task
from rapport.customers.models import Customer
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows


def export(customer: Customer) -> Rows:
    return {
        "tasks": rows(Task.objects.filter(customer=customer)),
        "contacts": rows(Contact.objects.filter(customer=customer)),
        "care_reminders": rows(Reminder.objects.filter(customer=customer)),
        "shared_links": rows(SharedLink.objects.filter(customer=customer), omit=("token",)),
    }


def erase(customer: Customer, erasure: Erasure) -> dict[str, int]:
    return {
        "task_texts_erased": Task.objects.filter(customer=customer).update(title="—", notes=""),
        "contact_notes_erased": Contact.objects.filter(customer=customer).update(note=""),
        # nobody is to be reminded about an erased person any more
        "care_reminders_closed": Reminder.objects.filter(customer=customer).update(
            detail="", status=ReminderStatus.DONE
        ),
        "shared_links_erased": SharedLink.objects.filter(customer=customer).update(url="", title=""),
    }


def register() -> None:
    register_privacy_hook(
        PrivacyHook(
            "clienteling",
            (
                "clienteling.Task",
                "clienteling.Contact",
                "clienteling.Reminder",
                "clienteling.SharedLink",
            ),
            export,
            erase,
        )
    )
