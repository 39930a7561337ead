from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput, NotFound
from rapport.customers.models import Customer, Identity
from rapport.events.models import Event
from rapport.privacy import archives, services
from rapport.privacy.models import DataSubjectRequest, ErasedIdentity, RequestStatus
from rapport.privacy.registry import covered_models
from rapport.privacy.tests import scenario
from rapport.tags.models import SyncDelivery, SyncEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(system_actor: Actor) -> scenario.Scenario:
    return scenario.build(system_actor)


def _verified(customer: Customer, kind: str, actor: Actor) -> DataSubjectRequest:
    request = services.receive_request(customer=customer, kind=kind, source="email", actor=actor)
    return services.verify_request(request, method="email_code", note="code sent to the address on file", actor=actor)


def test_every_model_that_points_at_a_customer_has_export_and_erasure_handling() -> None:
    customer_model = apps.get_model("customers", "Customer")
    linked = {
        model._meta.label
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is customer_model
    }
    assert linked - covered_models() == set(), "register a privacy hook for these models"


def test_a_request_is_received_with_its_deadline_and_verified_with_what_was_checked(
    person: scenario.Scenario, system_actor: Actor, settings: Any
) -> None:
    request = services.receive_request(customer=person.customer, kind="access", source="phone", actor=system_actor)
    assert request.status == RequestStatus.RECEIVED
    assert (request.due_at - request.received_at).days == settings.RAPPORT_PRIVACY_REQUEST_DAYS
    with pytest.raises(Conflict):
        services.fulfil_request(request, actor=system_actor)  # not verified yet
    with pytest.raises(InvalidInput) as missing:
        services.verify_request(request, method="id_document", note="  ", actor=system_actor)
    assert missing.value.errors[0].field == "verification_note"
    verified = services.verify_request(
        request, method="id_document", note="ID card seen at the counter", actor=system_actor
    )
    assert verified.status == RequestStatus.VERIFIED and verified.verified_by_label
    with pytest.raises(Conflict):
        services.receive_request(customer=person.customer, kind="access", source="email", actor=system_actor)


def test_bad_kind_and_source_are_refused_naming_the_field(person: scenario.Scenario, system_actor: Actor) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.receive_request(customer=person.customer, kind="everything", source="email", actor=system_actor)
    assert refused.value.errors[0].field == "kind"
    with pytest.raises(InvalidInput) as refused:
        services.receive_request(customer=person.customer, kind="access", source="pigeon", actor=system_actor)
    assert refused.value.errors[0].field == "source"
    assert not DataSubjectRequest.objects.exists()


def test_access_archive_holds_every_domain_as_json_and_csv_encrypted_at_rest(
    person: scenario.Scenario, system_actor: Actor
) -> None:
    request = scenario.fulfil_now(_verified(person.customer, "access", system_actor), system_actor)
    path = archives.path_of(DataSubjectRequest.objects.get(pk=request.pk))
    stored = path.read_bytes()
    assert b"PK" not in stored[:8] and scenario.PHONE.encode() not in stored  # encrypted, not a zip
    archive = zipfile.ZipFile(io.BytesIO(b"".join(archives.read(path))))
    names = set(archive.namelist())
    for domain in ("customers", "commerce", "events", "loyalty", "service", "campaigns", "tags", "portal"):
        assert f"{domain}.json" in names
    customers = json.loads(archive.read("customers.json"))
    assert customers["profile"][0]["phone"] == "+86" + scenario.PHONE
    assert customers["profile"][0]["id_number"] == scenario.ID_NUMBER
    assert customers["addresses"][0]["line1"] == scenario.STREET
    assert "phone_index" not in customers["profile"][0]
    assert json.loads(archive.read("commerce.json"))["orders"][0]["total"] == "256.00"
    assert scenario.EMAIL in archive.read("service/ticket_messages.csv").decode("utf-8-sig")
    assert len(json.loads(archive.read("events.json"))["events"]) == 2
    audit = json.loads(archive.read("privacy.json"))["audit"]
    assert {"customers.customer", "customers.address", "customers.note"} <= {e["object_type"] for e in audit}


def test_the_archive_link_works_only_for_the_requester_and_until_it_expires(
    person: scenario.Scenario, system_actor: Actor, make_customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = scenario.fulfil_now(_verified(person.customer, "access", system_actor), system_actor)
    token = services.archive_token(request)
    _request, data = services.open_archive(token, member=person.customer, actor=system_actor)
    assert zipfile.ZipFile(io.BytesIO(b"".join(data))).testzip() is None
    with pytest.raises(NotFound):
        services.open_archive(token, member=make_customer(), actor=system_actor)
    with pytest.raises(NotFound):
        services.open_archive(token + "x", member=person.customer, actor=system_actor)
    DataSubjectRequest.objects.filter(pk=request.pk).update(archive_expires_at=timezone.now())
    path = archives.path_of(DataSubjectRequest.objects.get(pk=request.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.drop_expired_archives() == 1
    assert not path.exists()  # the file goes with the link
    with pytest.raises(NotFound):
        services.open_archive(token, member=person.customer, actor=system_actor)


def test_erasure_leaves_no_personal_data_and_every_figure_unchanged(
    person: scenario.Scenario, system_actor: Actor
) -> None:
    SyncEndpoint.objects.create(name="crm", url="https://example.invalid/hook", secret="s3cret")
    before = scenario.figures()
    assert scenario.find_plaintext(scenario.PHONE, scenario.EMAIL, scenario.NAME)  # the scan finds them at all

    request = scenario.fulfil_now(_verified(person.customer, "erasure", system_actor), system_actor)

    assert scenario.figures() == before
    needles = (scenario.PHONE, scenario.EMAIL, scenario.NAME, scenario.ID_NUMBER, scenario.STREET, scenario.USER_ID)
    assert scenario.find_plaintext(*needles) == []
    customer = Customer.objects.get(pk=person.customer.pk)
    assert (customer.phone, customer.email, customer.id_number, customer.city, customer.gender) == ("", "", "", "", "")
    assert not Identity.objects.filter(customer=customer).exists()
    assert ErasedIdentity.objects.count() == 1
    assert request.outcome["service"]["tickets_closed"] == 1
    erased = AuditEntry.objects.get(action=AuditEntry.Action.DELETE, object_id=str(customer.pk))
    assert erased.changes == {"erased": True, "request": request.pk}
    trail = AuditEntry.objects.filter(object_type="privacy.datasubjectrequest", object_id=str(request.pk))
    assert [e.changes for e in trail.order_by("pk")] == [
        {"kind": "erasure"},
        {"verified": "email_code"},
        {"fulfilling": "erasure"},  # the job started
        {"completed": "erasure"},  # by the job
    ]
    event = SyncDelivery.objects.get()
    assert event.payload["type"] == "customer.erased" and event.payload["customer_id"] == customer.pk


def test_a_returning_tracking_id_after_erasure_creates_no_profile(
    person: scenario.Scenario, system_actor: Actor
) -> None:
    scenario.fulfil_now(_verified(person.customer, "erasure", system_actor), system_actor)
    customers = Customer.objects.count()
    send = scenario.tracking_client(person.source)
    send(
        {
            "type": "identify",
            "messageId": "id-2",
            "userId": scenario.USER_ID,
            "traits": {"name": scenario.NAME, "email": scenario.EMAIL, "phone": scenario.PHONE},
            "context": {"ip": "203.0.113.9"},
        },
        {"type": "track", "messageId": "tr-2", "userId": scenario.USER_ID, "event": "Product Viewed"},
    )
    assert Customer.objects.count() == customers
    assert Customer.objects.get(pk=person.customer.pk).phone == ""
    later = Event.objects.filter(message_id__in=["id-2", "tr-2"])
    assert later.count() == 2
    assert all(e.customer_id is None and e.user_id == "" and e.traits == {} and e.context == {} for e in later)
    assert scenario.find_plaintext(scenario.PHONE, scenario.EMAIL, scenario.NAME, scenario.USER_ID) == []


def test_a_merge_moves_the_merged_customers_requests_to_the_survivor(make_customer: Any, system_actor: Actor) -> None:
    from rapport.customers.merge import merge_customers

    survivor, merged = make_customer(name="Wu Lei"), make_customer(name="Wu  Lei")
    request = services.receive_request(customer=merged, kind="access", source="email", actor=system_actor)
    merge_customers(survivor, merged, actor=system_actor, reason="same person")
    assert DataSubjectRequest.objects.get(pk=request.pk).customer_id == survivor.pk
