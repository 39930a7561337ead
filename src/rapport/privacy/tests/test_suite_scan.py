"""The suite-wide plaintext scan (``rapport.testing.piiscan``) finds what it is meant to find: a
customer's phone written with spaces and an email in another case, an ID number and a street, in a
plain column, in JSON, in a log line and in a file the test wrote (a zip's member too), an erased
person's name; and nothing once the values are encrypted or masked."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Customer
from rapport.privacy import services as privacy_services
from rapport.privacy.tests.scenario import fulfil_now
from rapport.testing import piiscan

pytestmark = pytest.mark.django_db

ID_NUMBER = "110101199003077777"
STREET = "淮海中路 1266 号"


def _person(system_actor: Actor, n: int, **data: Any) -> Customer:
    return customer_services.create_customer(
        data={"name": "Scan Me", "phone": f"1391234000{n}", "email": "Scan.Me@example.com", **data},
        actor=system_actor,
    )


def _blank_plants() -> None:
    """Planted for one test only: the suite's own scan (on in CI) passes the test afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET name = 'Scan Me', name_pinyin = '', city = ''")
    Customer.objects.update(custom_fields={})


def test_finds_a_planted_phone_and_email_and_names_the_column_masked(system_actor: Actor) -> None:
    customer = _person(system_actor, 1)
    secrets = piiscan.collect_secrets()
    assert piiscan.scan_database(secrets) == []  # the profile's values are encrypted

    customer.name = "call +86 139 1234 0001"
    customer.save(update_fields=["name"])
    with connection.cursor() as cursor:  # as a bulk path that bypassed the sealing field would
        cursor.execute("UPDATE customers_customer SET city = 'SCAN.ME@EXAMPLE.COM'")
    findings = piiscan.scan_database(secrets)
    assert "customers_customer.name: customer phone (139****0001)" in findings
    assert "customers_customer.city: customer email (S***@example.com)" in findings
    assert not any("13912340001" in f or "scan.me@" in f.lower() for f in findings)
    _blank_plants()


def test_finds_id_numbers_and_streets_in_json_and_not_masked_values(system_actor: Actor) -> None:
    customer = _person(system_actor, 3, id_number=ID_NUMBER)
    customer_services.add_address(customer, data={"city": "Shanghai", "line1": STREET}, actor=system_actor)
    secrets = piiscan.collect_secrets()
    assert piiscan.scan_database(secrets) == []  # ID number, street and the address are encrypted

    masked = {"phone": "139****0003", "email": "S***@example.com", "id": "110****7777", "street": "淮海中****"}
    Customer.objects.filter(pk=customer.pk).update(custom_fields=masked)
    assert piiscan.scan_database(secrets) == []

    planted = {"contact": "139-1234-0003", "id": ID_NUMBER.lower(), "ship_to": STREET.replace(" ", "")}
    Customer.objects.filter(pk=customer.pk).update(custom_fields=planted)
    assert sorted(piiscan.scan_database(secrets)) == [
        "customers_customer.custom_fields: customer ID number (110****7777)",
        "customers_customer.custom_fields: customer phone (139****0003)",
        "customers_customer.custom_fields: customer street (淮海中****)",
    ]
    _blank_plants()


def test_reads_log_lines_as_the_masking_handlers_write_them(system_actor: Actor) -> None:
    customer_services.create_customer(data={"name": "Log Me", "phone": "13912340002"}, actor=system_actor)
    secrets = piiscan.collect_secrets()
    masked = logging.LogRecord("rapport.x", logging.INFO, __file__, 1, "sent to %s", ("13912340002",), None)
    assert piiscan.scan_log([masked], secrets) == []  # the handlers' filter masks a plain number
    glued = logging.LogRecord("rapport.x", logging.INFO, __file__, 1, "key id%s", ("13912340002",), None)
    assert piiscan.scan_log([glued], secrets) == ["log rapport.x (INFO): customer phone (139****0002)"]


def test_reads_the_files_a_test_wrote_under_the_data_folder(system_actor: Actor, settings: Any, tmp_path: Path) -> None:
    _person(system_actor, 4)
    secrets = piiscan.collect_secrets()
    settings.RAPPORT_DATA_DIR = tmp_path
    (tmp_path / "imports").mkdir()
    old = tmp_path / "imports" / "old.txt"
    old.write_text("scan.me@example.com", encoding="utf-8")  # there before the test: not its doing
    (tmp_path / "input.csv").write_text("phone\n13912340004\n", encoding="utf-8")  # a test's own input
    before = piiscan.snapshot(piiscan.data_folders())
    assert tmp_path / "imports" in piiscan.data_folders()
    assert piiscan.scan_files(before, piiscan.data_folders(), secrets) == []

    (tmp_path / "imports" / "report.txt").write_text("To: S***@example.com, 139****0004", encoding="utf-8")
    (tmp_path / "imports" / "sealed.bin").write_bytes(b"gAAAAAB" + bytes(range(256)))
    mail = tmp_path / "imports" / "mail.txt"
    mail.write_text("To: Scan.Me@Example.com\n", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "imports" / "copy.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("profile.json", '{"phone": "+86 139 1234 0004"}')
    assert piiscan.scan_files(before, piiscan.data_folders(), secrets) == [
        f"file {tmp_path / 'imports' / 'copy.zip'}!profile.json: customer phone (139****0004)",
        f"file {mail}: customer email (S***@example.com)",
    ]
    for planted in (tmp_path / "imports").iterdir():  # the suite's own scan reads them at teardown
        planted.unlink()


def test_after_an_erasure_the_name_is_looked_for_too(system_actor: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    customer = customer_services.create_customer(
        data={"name": "Erased Person", "phone": "13912340005", "email": "erased@example.com"}, actor=system_actor
    )
    erased = piiscan.Secrets()
    piiscan.watch_erasures(monkeypatch, erased)
    request = privacy_services.receive_request(customer=customer, kind="erasure", source="email", actor=system_actor)
    request = privacy_services.verify_request(request, method="email_code", note="code", actor=system_actor)
    fulfil_now(request, system_actor)
    assert {kind for kind, _masked in erased.needles.values()} == {"name", "phone", "email"}
    assert piiscan.collect_secrets() == piiscan.Secrets()  # the profile holds nothing any more
    assert piiscan.scan_database(erased) == []

    other = customer_services.create_customer(data={"name": "Someone Else"}, actor=system_actor)
    Customer.objects.filter(pk=other.pk).update(custom_fields={"note": "friend of erased person"})
    assert piiscan.scan_database(erased) == ["customers_customer.custom_fields: customer name (E****)"]
    Customer.objects.filter(pk=other.pk).update(name="Erased Person", custom_fields={})
    # a namesake still there: the name is theirs to keep
    assert "name" not in str(piiscan.scan_database(piiscan.without_names_in_use(erased)))
