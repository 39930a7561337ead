"""Crypto-shredding: history and audit about a customer are sealed with their key; erasure
deletes the key, and the rows, untouched, can no longer be read."""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import pytest
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.core import pii, shredding
from rapport.core.actor import Actor
from rapport.core.models import SubjectKey
from rapport.customers import services as customer_services
from rapport.customers.models import ChangeRecord, Customer
from rapport.customers.services import identity_indexes
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
    done = scenario.fulfil_now(request, system_actor)

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
    history = services.export_customer(person.customer)["service"]["ticket_history"]
    assert [e["data"]["subject"][1] for e in history if e["action"] == "changed"] == [new_subject]  # the copy

    request = services.receive_request(customer=person.customer, kind="erasure", source="email", actor=system_actor)
    request = services.verify_request(request, method="email_code", note="code to the address", actor=system_actor)
    scenario.fulfil_now(request, system_actor)
    assert shredding.open_sealed(sealed) == ""  # a copy in an older backup cannot be read either


def test_the_migration_seals_subject_changes_recorded_before(system_actor: Actor) -> None:
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


def _sealed_tokens(rows: list[tuple[Any, ...]]) -> list[str]:
    """The ``$pii`` tokens in raw (properties, traits) rows, as a dump of the table holds them."""
    tokens = []
    for row in rows:
        for column in row:
            values = column if isinstance(column, dict) else json.loads(column)
            tokens += [v[pii.SEALED] for v in values.values() if pii.is_sealed(v)]
    return tokens


def test_anonymous_events_identified_later_are_resealed_and_shredded_with_the_customer(
    system_actor: Actor,
) -> None:
    """Events stored before their visitor was known, then linked by an identify's back-fill (by
    device and by user id) and by a merge: after the erasure, a copy of their rows taken before it
    (a backup) holds nothing that can be decrypted, and the live database holds no plaintext."""
    from rapport.customers.merge import merge_customers
    from rapport.events.models import Event
    from rapport.events.services import create_source

    source = create_source(data={"name": "Shop", "identity_channel": "web"}, actor=system_actor)
    send = scenario.tracking_client(source)
    visitor_email, other_phone = "early.bird@example.com", "13677778888"
    send(
        {
            "type": "track",
            "messageId": "a-1",
            "anonymousId": "dev-9",
            "event": "Newsletter",
            "properties": {"email": visitor_email},
        },
        {
            "type": "page",
            "messageId": "a-2",
            "userId": "u-9",
            "name": "Account",
            "properties": {"phone": scenario.PHONE},
        },
        {
            "type": "identify",
            "messageId": "b-1",
            "userId": "u-other",
            "traits": {"name": "Other", "phone": other_phone},
        },
    )
    stored = Event.objects.filter(message_id__in=["a-1", "a-2"])
    assert not stored.exclude(customer=None).exists()  # anonymous: the key ring's seal
    send(
        {
            "type": "identify",
            "messageId": "id-9",
            "userId": "u-9",
            "anonymousId": "dev-9",
            "traits": {"name": scenario.NAME, "email": scenario.EMAIL},
        },
    )
    customer = Customer.objects.get(identities__external_index__in=identity_indexes("u-9"))
    other = Customer.objects.get(identities__external_index__in=identity_indexes("u-other"))
    assert set(stored.values_list("customer_id", flat=True)) == {customer.pk}
    merge_customers(customer, other, actor=system_actor, reason="same person")
    table = Event._meta.db_table
    backup = _raw(table, "properties, traits", "customer_id = %s", [customer.pk])
    tokens = _sealed_tokens(backup)
    assert len(tokens) >= 4 and all(shredding.is_sealed(t) for t in tokens), tokens
    assert visitor_email not in repr(backup) and scenario.PHONE not in repr(backup)
    assert (
        Event.objects.get(message_id="a-1")
        .properties["email"][pii.SEALED]
        .startswith(f"{shredding.PREFIX_FAST}{customer.pk}:")
    )

    request = services.receive_request(customer=customer, kind="erasure", source="email", actor=system_actor)
    request = services.verify_request(request, method="email_code", note="code to the address", actor=system_actor)
    scenario.fulfil_now(request, system_actor)

    assert scenario.find_plaintext(visitor_email, scenario.PHONE, other_phone, scenario.EMAIL) == []
    assert [shredding.open_sealed(t) for t in tokens] == [""] * len(tokens)  # the backup's copies too
    assert all(pii.unseal({pii.SEALED: t}) is None for t in tokens)


def test_a_merge_and_the_migration_move_event_values_still_under_the_key_ring_to_the_customers_key(
    system_actor: Actor, make_customer: Any
) -> None:
    """Rows linked before events were resealed at linking (the key ring's seal on a customer's
    event) move to the survivor's key when their customer is merged away, and any other to its
    customer's key by migration ``events.0007``."""
    from rapport.customers.merge import merge_customers
    from rapport.events.models import Event
    from rapport.events.services import create_source

    source = create_source(data={"name": "Shop", "identity_channel": "web"}, actor=system_actor)
    survivor, merged = make_customer(name="Kept"), make_customer(name="Merged")

    def stored_before(customer: Customer, key: str, value: str) -> Any:
        """An event of the customer as linked before linking resealed: the key ring's seal."""
        return Event.objects.create(
            source=source,
            message_id=f"old-{key}",
            type="track",
            name="Visit",
            customer=customer,
            properties={key: pii.seal(value, None)},
            timestamp=customer.created_at,
            received_at=customer.created_at,
        )

    old = stored_before(merged, "email", scenario.EMAIL)
    kept = stored_before(survivor, "phone", scenario.PHONE)
    merge_customers(survivor, merged, actor=system_actor, reason="same person")
    token = Event.objects.get(pk=old.pk).properties["email"][pii.SEALED]
    assert token.startswith(f"{shredding.PREFIX_FAST}{survivor.pk}:")
    assert pii.unseal({pii.SEALED: token}) == scenario.EMAIL

    # the survivor's own old row: the migration moves what the merge did not touch
    migration = import_module("rapport.events.migrations.0007_reseal_linked_events_under_customer_keys")
    migration.reseal(None, connection.schema_editor())
    token = Event.objects.get(pk=kept.pk).properties["phone"][pii.SEALED]
    assert token.startswith(f"{shredding.PREFIX_FAST}{survivor.pk}:")
    assert pii.unseal({pii.SEALED: token}) == scenario.PHONE


def test_the_process_keeps_at_most_cache_size_keys_the_latest_and_they_still_open(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """A bulk writer (an import) makes a key a customer: the cache keeps the latest ``CACHE_SIZE``
    of them, not every key the process ever made; a key dropped from it is read again."""
    monkeypatch.setattr(shredding, "CACHE_SIZE", 3)
    shredding.forget_cached_keys()
    with django_capture_on_commit_callbacks(execute=True):
        seal_one = shredding.sealer(range(900_001, 900_006))
        sealed = {subject_id: seal_one(subject_id, f"id {subject_id}") for subject_id in range(900_001, 900_006)}
    assert sorted(shredding._cache) == [900_003, 900_004, 900_005]
    assert {subject_id: shredding.open_sealed(value) for subject_id, value in sealed.items()} == {
        subject_id: f"id {subject_id}" for subject_id in range(900_001, 900_006)
    }
