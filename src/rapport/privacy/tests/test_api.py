from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import CUSTOMERS_READ
from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.privacy.models import DataSubjectRequest
from rapport.privacy.tests import scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(system_actor: Actor) -> scenario.Scenario:
    return scenario.build(system_actor)


@pytest.fixture
def api(api_client_for: Any, admin_user: Any) -> Any:
    return api_client_for(admin_user)


def _post(client: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1{path}", body or {}, content_type="application/json")


def _fulfilled_into_a_waiting_job(api: Any, settings: Any, request_id: int) -> dict[str, Any]:
    """Fulfil the request with no worker to take the job: it waits queued, as after the request
    commits in production. The 202 answer's body."""
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = False
    accepted = _post(api, f"/privacy/requests/{request_id}/fulfil")
    assert accepted.status_code == 202, accepted.content
    return accepted.json()


def test_erasure_request_goes_from_receipt_to_completion(
    api: Any, admin_user: Any, person: scenario.Scenario, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    created = _post(api, "/privacy/requests", {"customer_id": person.customer.pk, "kind": "erasure", "source": "email"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "received" and body["overdue"] is False
    request_id = body["id"]

    early = _post(api, f"/privacy/requests/{request_id}/fulfil")
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "status"

    verified = _post(
        api, f"/privacy/requests/{request_id}/verify", {"method": "email_code", "note": "code to the address on file"}
    )
    assert verified.status_code == 200 and verified.json()["verification"]["method"] == "email_code"

    body = _fulfilled_into_a_waiting_job(api, settings, request_id)
    assert body["status"] == "erasing" and "outcome" not in body
    assert body["preparation"]["job_status"] == "queued" and "domains_done" not in body["preparation"]
    assert api.get(f"/api/v1/customers/{person.customer.pk}").json()["name"] == person.customer.name
    again = _post(api, f"/privacy/requests/{request_id}/fulfil")  # a second click starts no second job
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "wrong_status"
    job = api.get(f"/api/v1/jobs/{body['preparation']['job_id']}").json()
    assert job["task"] == "rapport.privacy.erase_customer" and job["resumable"] is True

    settings.RAPPORT_JOBS_SYNC = True
    with django_capture_on_commit_callbacks(execute=True):  # what the worker does with the message
        assert api.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
        assert api.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 200
    done = api.get(f"/api/v1/privacy/requests/{request_id}").json()
    assert done["status"] == "completed" and "preparation" not in done
    assert done["outcome"]["customers"]["addresses"] == 1
    # the job records the erasure as done by the person who fulfilled the request
    erased = AuditEntry.objects.get(object_type="customers.customer", action="delete", changes__request=request_id)
    assert (erased.actor, erased.source) == (admin_user, "api")
    assert api.get(f"/api/v1/customers/{person.customer.pk}").json()["name"] == f"#{person.customer.pk}"


def test_access_request_starts_a_job_and_answers_with_the_portal_link_once_built(
    api: Any, person: scenario.Scenario, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request_id = _post(
        api, "/privacy/requests", {"customer_id": person.customer.pk, "kind": "access", "source": "phone"}
    ).json()["id"]
    _post(api, f"/privacy/requests/{request_id}/verify", {"method": "phone_code", "note": "code read back"})
    body = _fulfilled_into_a_waiting_job(api, settings, request_id)
    assert body["status"] == "preparing" and "archive" not in body
    preparation = body["preparation"]
    assert preparation["job_status"] == "queued" and preparation["domains_done"] == 0
    assert preparation["domains_total"] > 10

    again = _post(api, f"/privacy/requests/{request_id}/fulfil")  # a second click starts no second job
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "wrong_status"

    settings.RAPPORT_JOBS_SYNC = True
    with django_capture_on_commit_callbacks(execute=True):  # what the worker does with the message
        assert api.post(f"/api/v1/jobs/{preparation['job_id']}/cancel").status_code == 200
        assert api.post(f"/api/v1/jobs/{preparation['job_id']}/retry").status_code == 200
    done = api.get(f"/api/v1/privacy/requests/{request_id}").json()
    assert done["status"] == "completed" and "preparation" not in done
    assert "/portal/privacy/archive/" in done["archive"]["url"]
    listed = api.get("/api/v1/privacy/requests?status=completed").json()
    assert [r["id"] for r in listed["results"]] == [request_id]


def test_a_failed_copy_job_shows_on_the_request_and_is_retried_to_completion(
    api: Any, person: scenario.Scenario, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = _post(
        api, "/privacy/requests", {"customer_id": person.customer.pk, "kind": "access", "source": "phone"}
    ).json()["id"]
    _post(api, f"/privacy/requests/{request_id}/verify", {"method": "phone_code", "note": "code read back"})
    from rapport.privacy import services

    def broken(customer: Any, out: Any, **_: Any) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(services, "write_archive", broken)
        with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
            _post(api, f"/privacy/requests/{request_id}/fulfil")
    failed = api.get(f"/api/v1/privacy/requests/{request_id}").json()
    assert failed["status"] == "preparing"
    assert failed["preparation"]["job_status"] == "failed"
    assert "disk full" in failed["preparation"]["error"]

    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/jobs/{failed['preparation']['job_id']}/retry")
    assert retried.status_code == 200
    assert api.get(f"/api/v1/privacy/requests/{request_id}").json()["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"customer_id": 999999, "kind": "access", "source": "email"}, 404, "customer_id"),
        ({"kind": "erasure", "source": "email"}, 422, "customer_id"),
        ({"customer_id": "CUSTOMER", "kind": "erasure", "source": "email"}, 422, "customer_id"),
        ({"customer_id": 0, "kind": "forget-me", "source": "email"}, 422, "kind"),
        ({"customer_id": 0, "kind": "erasure", "source": "portal"}, 422, "source"),
        ({"customer_id": 0, "kind": "access", "source": "email", "received_at": "yesterday"}, 422, "received_at"),
        ({"customer_id": 0, "kind": "access", "source": "email", "extra": 1}, 422, "extra"),
    ],
)
def test_bad_requests_name_the_field_and_change_nothing(
    api: Any, person: scenario.Scenario, body: dict[str, Any], status: int, field: str
) -> None:
    if body.get("customer_id") == 0:
        body["customer_id"] = person.customer.pk
    answer = _post(api, "/privacy/requests", body)
    assert answer.status_code == status, answer.content
    assert field in answer.json()["errors"][0]["field"]
    assert not DataSubjectRequest.objects.exists()


def test_verification_without_a_note_is_refused(api: Any, person: scenario.Scenario) -> None:
    request_id = _post(
        api, "/privacy/requests", {"customer_id": person.customer.pk, "kind": "access", "source": "store"}
    ).json()["id"]
    answer = _post(api, f"/privacy/requests/{request_id}/verify", {"method": "id_document", "note": ""})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "verification_note"


def test_staff_without_the_permission_or_the_scope_are_refused(
    api_client_for: Any, make_staff: Any, admin_user: Any, person: scenario.Scenario
) -> None:
    operator = api_client_for(make_staff(roles.OPERATOR))
    assert operator.get("/api/v1/privacy/requests").status_code == 403
    narrow = api_client_for(admin_user, scopes=[CUSTOMERS_READ])
    assert narrow.get("/api/v1/privacy/requests").status_code == 403
