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


def _aged(path: Any, days: int) -> None:
    import os

    stamp = (timezone.now() - dt.timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))


def test_import_files_no_open_job_reads_and_old_outbox_files_are_deleted(settings: Any, tmp_path: Any) -> None:
    from rapport.imports.models import ImportJob

    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    settings.RAPPORT_OUTBOX_DIR = tmp_path / "outbox"
    settings.RAPPORT_RETENTION_IMPORT_FILE_DAYS = 7
    settings.RAPPORT_RETENTION_OUTBOX_DAYS = 30
    imports = tmp_path / "data" / "imports"
    imports.mkdir(parents=True)
    (tmp_path / "outbox").mkdir()
    left_by_a_crash, still_queued, fresh = (imports / f"upload-{n}.csv" for n in ("a", "b", "c"))
    report = imports / "job-1-report.csv"  # reports have their own period and job
    for path in (left_by_a_crash, still_queued, fresh, report):
        path.write_bytes(b"encrypted")
    ImportJob.objects.create(kind="customers", file_path=str(still_queued), original_name="b.csv")
    old_mail, new_mail = tmp_path / "outbox" / "rapport-1.txt", tmp_path / "outbox" / "rapport-2.txt"
    old_mail.write_text("To: amy@example.com")
    new_mail.write_text("To: bob@example.com")
    for path in (left_by_a_crash, still_queued, report):
        _aged(path, 8)
    _aged(old_mail, 31)

    outcome = enforce_retention()
    assert (outcome["import_files"], outcome["outbox"]) == (1, 1)
    assert not left_by_a_crash.exists() and not old_mail.exists()
    assert still_queued.exists() and fresh.exists() and report.exists() and new_mail.exists()
    assert (enforce_retention()["import_files"], enforce_retention()["outbox"]) == (0, 0)


def test_the_retention_page_lists_import_files_reports_and_the_outbox(client: Client, admin_user: Any) -> None:
    client.login(username=admin_user.username, password=STAFF_PASSWORD)
    html = client.get("/privacy/retention/").content.decode()
    for setting in (
        "RAPPORT_RETENTION_IMPORT_FILE_DAYS",
        "RAPPORT_IMPORT_REPORT_DAYS",
        "RAPPORT_RETENTION_OUTBOX_DAYS",
        "RAPPORT_PRIVACY_ARCHIVE_DAYS",
    ):
        assert setting in html
