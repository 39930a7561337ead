"""History reads as words: the audit log names the model and links the object, shows each change
as "label: before → after" with choice labels; the change history shows a custom field's label;
a ticket's history names its actions and statuses."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.audit.readable import readable
from rapport.customers.services import save_custom_field, update_customer
from rapport.service.event_words import describe
from rapport.service.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_an_audit_entry_reads_as_words_with_a_link(make_customer, system_actor):
    customer = make_customer(name="Mei", gender="female")
    update_customer(customer, data={"gender": "male", "city": "杭州"}, actor=system_actor)
    entry = AuditEntry.objects.filter(object_type="customers.customer", action="update").latest("pk")
    shown = readable([entry])[0]
    assert shown.type_label == "Customer" and shown.url == f"/customers/{customer.pk}/"
    rows = {label: text for label, text, _raw in shown.rows}
    assert rows["Gender"] == "Female → Male" and rows["City"] == "— → 杭州"


def test_the_change_history_shows_a_custom_fields_label(client, make_staff, make_customer, system_actor):
    save_custom_field(
        data={"key": "favourite_category", "label": "Favourite category", "field_type": "text"}, actor=system_actor
    )
    customer = make_customer(name="Lin")
    update_customer(customer, data={"custom_fields": {"favourite_category": "tea"}}, actor=system_actor)
    client.force_login(make_staff(roles.ADMIN))
    page = client.get(f"/customers/{customer.pk}/", {"tab": "history"}).content.decode()
    assert "Custom field: Favourite category" in page
    audit = client.get("/audit/").content.decode()
    assert "Custom field: Favourite category" in audit and "{&#x27;" not in audit


def test_a_ticket_event_names_its_action_and_statuses(make_customer):
    now = timezone.now()
    ticket = Ticket.objects.create(
        customer=make_customer(name="Wu"), subject="Late parcel", status="open", created_at=now, updated_at=now
    )
    event = TicketEvent.objects.create(
        ticket=ticket, action="status", actor_label="agent", data={"from": "new", "to": "open"}, at=now
    )
    assert describe(event) == ("Status changed", "from: New; to: Open")
    breach = TicketEvent.objects.create(
        ticket=ticket, action="sla_breached", actor_label="sla", data={"target": "resolution"}, at=now
    )
    assert describe(breach) == ("SLA target missed", "target: resolution")
