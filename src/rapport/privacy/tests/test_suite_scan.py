"""The suite-wide plaintext scan (``rapport.testing.piiscan``) finds what it is meant to find: a
customer's phone written with spaces and an email in another case, in a plain column, in JSON and in
a log line, and nothing once the values are encrypted or masked."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.testing import piiscan

pytestmark = pytest.mark.django_db


def test_finds_a_planted_phone_and_email_and_names_the_column_masked(system_actor: Actor) -> None:
    customer = customer_services.create_customer(
        data={"name": "Scan Me", "phone": "13912340001", "email": "Scan.Me@example.com"}, actor=system_actor
    )
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
    with connection.cursor() as cursor:  # planted for this test only: the suite's own scan passes it
        cursor.execute("UPDATE customers_customer SET name = 'Scan Me', name_pinyin = '', city = ''")


def test_reads_log_lines_as_the_masking_handlers_write_them(system_actor: Actor) -> None:
    customer_services.create_customer(data={"name": "Log Me", "phone": "13912340002"}, actor=system_actor)
    secrets = piiscan.collect_secrets()
    masked = logging.LogRecord("rapport.x", logging.INFO, __file__, 1, "sent to %s", ("13912340002",), None)
    assert piiscan.scan_log([masked], secrets) == []  # the handlers' filter masks a plain number
    glued = logging.LogRecord("rapport.x", logging.INFO, __file__, 1, "key id%s", ("13912340002",), None)
    assert piiscan.scan_log([glued], secrets) == ["log rapport.x (INFO): customer phone (139****0002)"]
