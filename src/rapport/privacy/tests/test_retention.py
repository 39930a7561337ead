from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.core.actor import Actor
from rapport.privacy.retention import enforce_retention
from rapport.service import services as service_services
from rapport.service.models import Attachment, Status, Ticket, TicketMessage
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def _closed_ticket(customer: Any, actor: Actor, *, closed_days_ago: int) -> Ticket:
    ticket = service_services.open_ticket(
        customer=customer, channel="email", subject="Refund for Lu Xin", body="Call 13300133000", actor=actor
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.CLOSED, closed_at=timezone.now() - dt.timedelta(days=closed_days_ago)
    )
    return ticket


def test_closed_tickets_past_retention_lose_their_texts_and_keep_their_figures(
    make_customer: Any, system_actor: Actor, settings: Any
) -> None:
    settings.RAPPORT_RETENTION_TICKET_DAYS = 30
    customer = make_customer(name="Lu Xin")
    old = _closed_ticket(customer, system_actor, closed_days_ago=31)
    recent = _closed_ticket(customer, system_actor, closed_days_ago=29)
    Attachment.objects.create(
        message=TicketMessage.objects.filter(ticket=old).first(),
        file_name="id.jpg",
        content_type="image/jpeg",
        size=3,
        data=b"abc",
    )

    assert enforce_retention()["tickets"] == 1
    emptied = Ticket.objects.get(pk=old.pk)
    assert (emptied.subject, emptied.status, emptied.category) == ("", Status.CLOSED, old.category)
    assert set(TicketMessage.objects.filter(ticket=old).values_list("body", flat=True)) == {""}
    assert not Attachment.objects.exists()
    assert Ticket.objects.get(pk=recent.pk).subject == "Refund for Lu Xin"
    assert enforce_retention()["tickets"] == 0  # nothing twice
    assert Ticket.objects.count() == 2


def test_the_retention_page_lists_every_period_and_what_is_due(
    admin_user: Any, make_customer: Any, system_actor: Actor, settings: Any
) -> None:
    settings.RAPPORT_RETENTION_TICKET_DAYS = 30
    _closed_ticket(make_customer(name="Lu Xin"), system_actor, closed_days_ago=40)
    client = Client()
    client.login(username=admin_user.username, password=STAFF_PASSWORD)
    page = client.get("/privacy/retention/").content.decode()
    for setting in ("RAPPORT_RETENTION_TICKET_DAYS", "RAPPORT_EVENT_RETENTION_DAYS", "RAPPORT_PRIVACY_ARCHIVE_DAYS"):
        assert setting in page
    assert "<td>30 days</td>" in page and "<td>1</td>" in page
