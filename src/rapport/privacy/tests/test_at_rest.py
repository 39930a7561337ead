"""Ticket texts and files are encrypted at rest and read back as written."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from rapport.core.actor import Actor
from rapport.service import services as service_services
from rapport.service.models import Attachment, Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def _column(table: str, column: str) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return [row[0] for row in cursor.fetchall()]


def test_message_bodies_reply_addresses_and_attachments_are_ciphertext_in_the_database(
    make_customer: Any, system_actor: Actor
) -> None:
    customer = make_customer(name="Zhou Min")
    ticket = service_services.open_ticket(
        customer=customer,
        channel="email",
        subject="Invoice",
        body="Please call me on 13700137000, I live at 5 Canal St",
        actor=system_actor,
        reply_to="zhou.min@example.com",
    )
    message = TicketMessage.objects.get(ticket=ticket)
    Attachment.objects.create(message=message, file_name="id.jpg", content_type="image/jpeg", size=9, data=b"ID-PHOTO!")

    assert TicketMessage.objects.get(pk=message.pk).body.startswith("Please call me on 13700137000")
    assert Ticket.objects.get(pk=ticket.pk).reply_to == "zhou.min@example.com"
    assert bytes(Attachment.objects.get().data) == b"ID-PHOTO!"
    stored = repr(_column("service_ticketmessage", "body") + _column("service_ticket", "reply_to"))
    assert "13700137000" not in stored and "Canal St" not in stored and "zhou.min" not in stored
    assert b"ID-PHOTO" not in bytes(_column("service_attachment", "data")[0])
