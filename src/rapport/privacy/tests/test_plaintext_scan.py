"""Issue 19, item 3: personal data never lands in plaintext. The privacy scenario, plus the paths
that write personal values in bulk or in the background (an import's changes, tracked jobs, a
ticket subject holding a phone and an email and its change in the ticket's history, a mail received
from the customer, events of a known and of an anonymous visitor identified later, an access copy),
then
a raw scan of every text, JSON and bytes column and of the captured logs: before any erasure no
phone, email, ID number or street; after the erasure not the name either."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from rapport.core.actor import Actor, Source
from rapport.core.models import BackgroundJob
from rapport.customers.models import ChangeRecord
from rapport.imports.services import import_file
from rapport.privacy import services
from rapport.privacy.tests import scenario
from rapport.service import services as service_services

pytestmark = pytest.mark.django_db
IMPORT_ACTOR = Actor(source=Source.IMPORT, label="scan import")
OLD_CITY = "Suzhou Xiangcheng"


def _more_paths(person: scenario.Scenario, actor: Actor, tmp_path: Path, settings: Any) -> None:
    """The paths the scenario does not take: bulk import changes, jobs, a subject, anonymous events."""
    settings.RAPPORT_JOBS_SYNC = True
    path = tmp_path / "customers.csv"
    path.write_text(f"id,name,phone,city\nshop-1,{scenario.NAME},{scenario.PHONE},{OLD_CITY}\n", encoding="utf-8")
    import_file(path, kind="customers", actor=IMPORT_ACTOR)  # matches by phone: the engine's change rows
    path.write_text(f"id,name,phone,city\nshop-1,{scenario.NAME},{scenario.PHONE},Hangzhou\n", encoding="utf-8")
    import_file(path, kind="customers", actor=IMPORT_ACTOR)
    assert ChangeRecord.objects.filter(customer=person.customer, source=Source.IMPORT).exclude(field="import").exists()
    ticket = service_services.open_ticket(
        customer=person.customer,
        channel="api",
        subject=f"Call {scenario.PHONE} or mail {scenario.EMAIL}",
        body="About my parcel",
        actor=actor,
    )
    # the ticket's history keeps the old and the new subject
    service_services.update_ticket(ticket, data={"subject": f"Parcel to {scenario.STREET}"}, actor=actor)
    from email.message import EmailMessage

    from rapport.service import mail

    message = EmailMessage()
    message["From"], message["To"] = scenario.EMAIL, "service@shop.example"
    message["Subject"] = f"New number {scenario.PHONE}"
    message.set_content(f"I moved to {scenario.STREET}. ID {scenario.ID_NUMBER}")
    assert mail.receive(bytes(message)).outcome == "ticket"  # kept raw: sender, subject and bytes encrypted
    send = scenario.tracking_client(person.source)
    send(
        {
            "type": "track",
            "messageId": "anon-1",
            "anonymousId": "device-9",
            "event": "Form Sent",
            "properties": {"email": scenario.EMAIL, "phone": scenario.PHONE, "id_number": scenario.ID_NUMBER},
        }
    )
    # the device is identified later: its event joins the person (and is sealed with their key)
    send({"type": "identify", "messageId": "anon-2", "userId": scenario.USER_ID, "anonymousId": "device-9"})
    access = services.receive_request(customer=person.customer, kind="access", source="store", actor=actor)
    access = services.verify_request(access, method="id_document", note="ID card", actor=actor)
    assert scenario.fulfil_now(access, actor).has_archive  # the copy, kept encrypted
    from rapport.loyalty.tasks import expire_coupons
    from rapport.privacy.tasks import enforce_retention_task

    expire_coupons()
    enforce_retention_task()
    assert BackgroundJob.objects.count() >= 2


def test_no_phone_email_id_number_or_street_in_any_column_or_log_line_before_and_after_erasure(
    system_actor: Actor, tmp_path: Path, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = scenario.build(system_actor)
    _more_paths(person, system_actor, tmp_path, settings)

    secrets = (scenario.PHONE, scenario.EMAIL, scenario.ID_NUMBER, scenario.STREET)
    assert scenario.find_plaintext(*secrets) == []
    assert scenario.find_plaintext(scenario.NAME)  # names stay plaintext and searchable until erasure
    logged = caplog.text
    assert not [secret for secret in secrets if secret in logged]

    request = services.receive_request(customer=person.customer, kind="erasure", source="email", actor=system_actor)
    request = services.verify_request(request, method="email_code", note="code to the address", actor=system_actor)
    scenario.fulfil_now(request, system_actor)

    assert scenario.find_plaintext(*secrets, scenario.NAME, OLD_CITY) == []
    assert not [secret for secret in (*secrets, scenario.NAME) if secret in caplog.text[len(logged) :]]
