"""The contact log: a call, message, visit or appointment a staff member records on a customer.

A contact is never dated after now, and a marketing contact by call or message needs the customer's
marketing consent on that channel: when it is missing (never given, or withdrawn) the pages do not
offer it and say why, and the service refuses it. Completing a task in which the customer was
reached records its contact (once: the contact's task is unique).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from rapport.accounts.services import staff_store_id
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.clienteling.models import Contact, ContactKind, ContactPurpose, Outcome, Task, TaskKind
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers import consent
from rapport.customers.models import Customer

NOTE_LENGTH = 2000
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# The consent channel a contact of each kind reaches the customer on (visits and appointments: none).
CONSENT_CHANNELS = {ContactKind.CALL: "call", ContactKind.MESSAGE: "wechat"}
# The contact a completed task stands for, and the outcomes in which the customer was reached.
TASK_CONTACTS = {
    TaskKind.CALL: ContactKind.CALL,
    TaskKind.WECOM: ContactKind.MESSAGE,
    TaskKind.VISIT: ContactKind.VISIT,
}
REACHED = {Outcome.REACHED, Outcome.INTERESTED, Outcome.DECLINED, Outcome.DONE, Outcome.OPTED_OUT}
# What staff record by hand: an opened shared link is recorded by the link itself (clienteling.sharing).
RECORDED_KINDS = [(value, label) for value, label in ContactKind.choices if value != ContactKind.LINK]


def marketing_refused(customer_id: int) -> list[str]:
    """The contact kinds this customer may not be contacted by for marketing (no consent on their channel)."""
    return [
        kind
        for kind, channel in CONSENT_CHANNELS.items()
        if not consent.has_consent(customer_id, channel, ContactPurpose.MARKETING)
    ]


def _when(raw: Any, now: dt.datetime, errors: list[FieldError]) -> dt.datetime:
    if raw in (None, ""):
        return now
    value = raw if isinstance(raw, dt.datetime) else parse_datetime(str(raw).strip())
    if value is None:
        errors.append(FieldError("occurred_at", "invalid", _("Enter a date and time.")))
        return now
    when = (value if timezone.is_aware(value) else timezone.make_aware(value)).astimezone(dt.UTC)
    if when > now + dt.timedelta(minutes=1) or when < EARLIEST:
        errors.append(FieldError("occurred_at", "out_of_range", _("A time between 2000 and now.")))
    return when


def clean_contact(customer_id: int, data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    kind = str(data.get("kind") or "")
    kinds = [value for value, _label in RECORDED_KINDS]
    if kind not in kinds:
        errors.append(FieldError("kind", "invalid", _("One of: %(choices)s.") % {"choices": ", ".join(kinds)}))
    purpose = str(data.get("purpose") or ContactPurpose.SERVICE)
    if purpose not in ContactPurpose.values:
        choices = ", ".join(ContactPurpose)
        errors.append(FieldError("purpose", "invalid", _("One of: %(choices)s.") % {"choices": choices}))
    elif purpose == ContactPurpose.MARKETING and kind in marketing_refused(customer_id):
        errors.append(
            FieldError(
                "purpose",
                "no_consent",
                _("This customer has not agreed to marketing on this channel (or withdrew it): service only."),
            )
        )
    note = str(data.get("note") or "").strip()
    if len(note) > NOTE_LENGTH:
        errors.append(FieldError("note", "too_long", _("At most 2000 characters.")))
    occurred_at = _when(data.get("occurred_at"), now, errors)
    if errors:
        raise InvalidInput(errors)
    return {"kind": kind, "purpose": purpose, "note": note, "occurred_at": occurred_at}


@transaction.atomic
def record_contact(customer: Customer, data: Mapping[str, Any], *, actor: Actor) -> Contact:
    now = timezone.now()
    fields = clean_contact(customer.pk, data, now)
    staff = actor.staff_user
    contact = Contact.objects.create(
        customer=customer, staff=staff, store_id=staff_store_id(staff), created_at=now, **fields
    )
    record(actor, AuditEntry.Action.CREATE, obj=contact, changes={"customer_id": customer.pk, "kind": contact.kind})
    return contact


def record_for_task(task: Task, *, actor: Actor) -> Contact | None:
    """The contact a completed task stands for, when the customer was reached; in the caller's transaction."""
    kind = TASK_CONTACTS.get(TaskKind(task.kind))
    if kind is None or task.outcome not in REACHED:
        return None
    staff = actor.staff_user
    return Contact.objects.create(
        customer_id=task.customer_id,
        kind=kind,
        purpose=ContactPurpose.SERVICE,
        note=task.title,
        staff=staff,
        store_id=staff_store_id(staff) if staff is not None else task.store_id,
        task=task,
        occurred_at=task.completed_at or timezone.now(),
        created_at=timezone.now(),
    )
