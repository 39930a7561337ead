"""Crypto-shredding: history and audit about a customer are sealed with their key; erasure
deletes the key, and the rows, untouched, can no longer be read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.core import shredding
from rapport.core.actor import Actor
from rapport.core.models import SubjectKey
from rapport.customers import services as customer_services
from rapport.customers.models import ChangeRecord
from rapport.privacy import services
from rapport.privacy.tests import scenario

pytestmark = pytest.mark.django_db
OLD_NAME = "Qiao Yulan"


def _raw(table: str, columns: str, where: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY id", params)
        return list(cursor.fetchall())


def test_history_and_audit_are_sealed_and_unreadable_after_erasure_without_being_rewritten(
    system_actor: Actor,
) -> None:
    person = scenario.build(system_actor)
    customer = customer_services.update_customer(person.customer, data={"name": OLD_NAME}, actor=system_actor)
    customer_services.update_customer(customer, data={"name": "Qiao Y."}, actor=system_actor)
    change = ChangeRecord.objects.filter(customer=customer, field="name").order_by("pk").last()
    assert change is not None and (change.old_value, change.new_value) == (OLD_NAME, "Qiao Y.")  # readable
    stored = _raw(ChangeRecord._meta.db_table, "old_value, new_value", "customer_id = %s", [customer.pk])
    assert all(shredding.is_sealed(v) or v == "" for row in stored for v in row)
    assert OLD_NAME not in repr(stored)
    audit_table = AuditEntry._meta.db_table
    about = "object_type = %s AND object_id = %s"
    audited = _raw(audit_table, "object_repr, changes", about, ["customers.customer", str(customer.pk)])
    assert audited and OLD_NAME not in repr(audited) and all(shredding.is_sealed(r[0]) for r in audited)
    assert SubjectKey.objects.filter(subject_id=customer.pk).exists()

    request = services.receive_request(customer=customer, kind="erasure", source="email", actor=system_actor)
    request = services.verify_request(request, method="email_code", note="code to the address", actor=system_actor)
    done = services.fulfil_request(request, actor=system_actor)

    assert done.outcome["audit"]["keys_shredded"] == 1
    assert not SubjectKey.objects.filter(subject_id=customer.pk).exists()
    assert (
        _raw(ChangeRecord._meta.db_table, "old_value, new_value", "customer_id = %s", [customer.pk])[: len(stored)]
        == stored
    )
    assert {(c.old_value, c.new_value) for c in ChangeRecord.objects.filter(pk=change.pk)} == {("", "")}
    before_erasure = AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk))
    readable = [(e.action, e.object_repr, e.changes) for e in before_erasure.order_by("pk")]
    assert readable[-1] == ("delete", f"#{customer.pk}", {"erased": True, "request": request.pk})  # the erasure stays
    assert all(text == "" and changes == {} for _action, text, changes in readable[:-1])
    assert scenario.find_plaintext(OLD_NAME) == []


def test_a_value_sealed_before_a_key_was_shredded_and_recreated_stays_unreadable() -> None:
    sealed = shredding.seal(424242, "Lin Hua")
    assert shredding.open_sealed(sealed) == "Lin Hua"
    assert shredding.shred([424242]) == 1
    assert shredding.open_sealed(sealed) == ""
    assert shredding.open_sealed(shredding.seal(424242, "Lin Hua again")) == "Lin Hua again"  # a new key
    assert shredding.open_sealed(sealed) == ""
    assert shredding.open_sealed("plain text") == "plain text" and shredding.seal(1, "") == ""


def test_a_tickets_subject_changes_are_sealed_in_its_history_and_unreadable_after_erasure(
    system_actor: Actor,
) -> None:
    from rapport.service import services as service_services
    from rapport.service.models import Ticket, TicketEvent

    person = scenario.build(system_actor)
    ticket = Ticket.objects.get(customer=person.customer)
    new_subject = f"Call back on {scenario.PHONE}"
    service_services.update_ticket(ticket, data={"subject": new_subject, "priority": "high"}, actor=system_actor)
    change = TicketEvent.objects.get(ticket=ticket, action="changed")
    assert change.data["subject"] == [f"Parcel for {scenario.NAME}", new_subject]  # readable, as written
    assert change.data["priority"] == ["normal", "high"]
    [(stored,)] = _raw(TicketEvent._meta.db_table, "data", "id = %s", [change.pk])
    assert scenario.PHONE not in str(stored) and scenario.NAME not in str(stored) and '"high"' in str(stored)
    sealed = (stored if isinstance(stored, dict) else json.loads(stored))["subject"]
    assert sealed.startswith(f"{shredding.PREFIX}{person.customer.pk}:")

    request = services.receive_request(customer=person.customer, kind="erasure", source="email", actor=system_actor)
    request = services.verify_request(request, method="email_code", note="code to the address", actor=system_actor)
    services.fulfil_request(request, actor=system_actor)
    assert shredding.open_sealed(sealed) == ""  # a copy in an older backup cannot be read either


def test_the_migration_seals_subject_changes_recorded_before(system_actor: Actor) -> None:
    from importlib import import_module

    from rapport.service.models import Ticket, TicketEvent

    person = scenario.build(system_actor)
    ticket = Ticket.objects.get(customer=person.customer)
    old = TicketEvent.objects.create(ticket=ticket, action="status", actor_label="t", data={}, at=ticket.created_at)
    plain = {"subject": [f"Parcel for {scenario.NAME}", scenario.EMAIL], "category": ["other", "delivery"]}
    with connection.cursor() as cursor:  # as written before the field sealed subjects
        cursor.execute(
            f"UPDATE {TicketEvent._meta.db_table} SET action = 'changed', data = %s WHERE id = %s",
            [json.dumps(plain), old.pk],
        )
    migration = import_module("rapport.service.migrations.0011_seal_existing_subjects_in_ticket_history")
    migration.seal_existing(None, connection.schema_editor())
    migration.seal_existing(None, connection.schema_editor())  # a second run changes nothing
    [(stored,)] = _raw(TicketEvent._meta.db_table, "data", "id = %s", [old.pk])
    assert scenario.EMAIL not in str(stored) and "delivery" in str(stored)
    assert TicketEvent.objects.get(pk=old.pk).data == plain
