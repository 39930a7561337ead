from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.portal.models import MemberSession
from rapport.privacy.models import DataSubjectRequest, RequestStatus
from rapport.privacy.tests import scenario
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(make_customer: Any) -> Customer:
    return make_customer(name="Lin Yue", phone="13700137000", email="lin.yue@example.com")


@pytest.fixture
def console(admin_user: Any) -> Client:
    client = Client()
    assert client.login(username=admin_user.username, password=STAFF_PASSWORD)
    return client


def _verified_at_the_counter(console: Client, member: Customer, kind: str) -> DataSubjectRequest:
    """A request taken in a store and checked against the member's ID card, through the console."""
    console.post("/privacy/", {"customer_id": member.pk, "kind": kind, "source": "store"})
    request = DataSubjectRequest.objects.get()
    console.post(f"/privacy/{request.pk}/verify/", {"method": "id_document", "note": "ID card at the counter"})
    return request


def test_console_receives_verifies_and_fulfils_an_erasure(
    console: Client, member: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    response = console.post("/privacy/", {"customer_id": member.pk, "kind": "erasure", "source": "letter"})
    request = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/privacy/{request.pk}/"
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert "verify-form" in page and "fulfil-form" not in page

    console.post(f"/privacy/{request.pk}/verify/", {"method": "id_document", "note": "ID card copy enclosed"})
    unconfirmed = console.post(f"/privacy/{request.pk}/fulfil/", follow=True)
    assert "cannot be undone" in unconfirmed.content.decode()
    assert DataSubjectRequest.objects.get().status == RequestStatus.VERIFIED

    with django_capture_on_commit_callbacks(execute=True):  # the erasure job, as a worker runs it
        started = console.post(f"/privacy/{request.pk}/fulfil/", {"confirm": "erase"}, follow=True).content.decode()
    assert "being erased" in started
    done = console.get(f"/privacy/{request.pk}/").content.decode()
    assert "erasure-outcome" in done and "fulfil-form" not in done
    assert Customer.objects.get(pk=member.pk).phone == ""
    profile = console.get(f"/customers/{member.pk}/")
    assert profile.status_code == 200 and "Lin Yue" not in profile.content.decode()


def test_console_shows_the_copy_being_prepared_and_retries_its_failed_job(
    console: Client,
    member: Customer,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rapport.privacy import services

    request = _verified_at_the_counter(console, member, "access")
    with monkeypatch.context() as patched:
        patched.setattr(services, "write_archive", lambda customer, out, **_: 1 / 0)
        with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
            console.post(f"/privacy/{request.pk}/fulfil/")
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert 'id="archive-preparation"' in page and "data-preparing" not in page  # failed: no reload
    assert "ZeroDivisionError" in page and 'id="retry-preparation"' in page and "archive-url" not in page

    job_id = DataSubjectRequest.objects.get().job_id
    with django_capture_on_commit_callbacks(execute=True):
        back = console.post(f"/privacy/jobs/{job_id}/retry/", {"next": f"/privacy/{request.pk}/"})
    assert back["Location"] == f"/privacy/{request.pk}/"
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert "archive-preparation" not in page and 'id="archive-url"' in page
    offsite = console.post(f"/privacy/jobs/{job_id}/retry/", {"next": "https://evil.example/"})
    assert offsite["Location"] == "/privacy/jobs/"


def test_console_page_of_a_queued_copy_follows_it(console: Client, member: Customer, settings: Any) -> None:
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = False
    request = _verified_at_the_counter(console, member, "access")
    console.post(f"/privacy/{request.pk}/fulfil/")
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert 'data-preparing="1"' in page and "privacy/preparing.js" in page
    assert "fulfil-form" not in page  # a second click would start no second job anyway
    assert DataSubjectRequest.objects.get().status == RequestStatus.PREPARING


def test_console_page_of_a_queued_erasure_follows_it_and_offers_a_retry_when_it_failed(
    console: Client,
    member: Customer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rapport.privacy import services

    request = _verified_at_the_counter(console, member, "erasure")
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = False
    console.post(f"/privacy/{request.pk}/fulfil/", {"confirm": "erase"})
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert 'data-preparing="1"' in page and "until the erasure is done" in page and "fulfil-form" not in page
    assert DataSubjectRequest.objects.get().status == RequestStatus.ERASING
    assert Customer.objects.get(pk=member.pk).name == "Lin Yue"  # nothing erased until the job runs

    settings.RAPPORT_JOBS_SYNC = True
    job_id = DataSubjectRequest.objects.get().job_id
    with monkeypatch.context() as patched:
        patched.setattr(services, "_erase", lambda customer, **_: 1 / 0)
        with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
            console.post(f"/privacy/jobs/{job_id}/cancel/", {"next": f"/privacy/{request.pk}/"})
            console.post(f"/privacy/jobs/{job_id}/retry/", {"next": f"/privacy/{request.pk}/"})
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert "ZeroDivisionError" in page and 'id="retry-preparation"' in page and "data-preparing" not in page
    assert Customer.objects.get(pk=member.pk).name == "Lin Yue"  # the failed transaction erased nothing

    with django_capture_on_commit_callbacks(execute=True):
        console.post(f"/privacy/jobs/{job_id}/retry/", {"next": f"/privacy/{request.pk}/"})
    page = console.get(f"/privacy/{request.pk}/").content.decode()
    assert "erasure-outcome" in page and "retry-preparation" not in page
    assert Customer.objects.get(pk=member.pk).name == f"#{member.pk}"


def test_console_form_names_the_bad_field(console: Client, member: Customer) -> None:
    page = console.post("/privacy/", {"customer_id": 987654, "kind": "access", "source": "email"})
    assert page.status_code == 200 and "No such customer." in page.content.decode()
    page = console.post("/privacy/", {"customer_id": member.pk, "kind": "access", "source": "carrier pigeon"})
    assert page.status_code == 200 and "carrier pigeon" in page.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_console_pages_are_for_those_allowed(make_staff: Any) -> None:
    operator = make_staff(roles.OPERATOR)
    client = Client()
    client.login(username=operator.username, password=STAFF_PASSWORD)
    assert client.get("/privacy/").status_code == 403


def test_member_asks_for_a_copy_and_downloads_it(
    member_client: Any, member: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    client = member_client(member)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.post("/portal/privacy/copy/", follow=True).content.decode()
    assert "refresh this page" in waiting
    page = client.get("/portal/privacy/").content.decode()
    link = re.search(r'href="http://[^/]+(/portal/privacy/archive/[^"]+)"', page)
    assert link, page
    download = client.get(link.group(1))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    profile = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).read("customers.json").decode()
    assert "lin.yue@example.com" in profile
    request = DataSubjectRequest.objects.get()
    assert request.verification_method == "portal_sign_in" and request.archive_downloaded_at is not None

    stranger = Client()
    assert stranger.get(link.group(1)).status_code == 302  # to the portal sign-in


def test_member_cancels_the_account_and_is_signed_out(member_client: Any, member: Customer) -> None:
    from rapport.core import jobs

    client = member_client(member)
    refused = client.post("/portal/privacy/cancel/", follow=True).content.decode()
    assert "Tick the box" in refused
    page = client.post("/portal/privacy/cancel/", {"confirm": "cancel"})  # the job waits for the commit
    assert page.status_code == 200 and "Lin Yue" not in page.content.decode()
    assert "being erased" in page.content.decode()
    assert client.get("/portal/privacy/").status_code == 302  # signed out at once, before the erasure
    assert MemberSession.objects.get(customer=member).ended_at is not None
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.status, request.source) == ("erasure", "erasing", "portal")

    assert request.job_id is not None
    jobs.run_tracked(request.job_id)  # what the worker does
    assert Customer.objects.get(pk=member.pk).email == ""
    assert not MemberSession.objects.filter(customer=member).exists()
    request.refresh_from_db()
    assert request.status == "completed"


def test_a_member_cannot_open_another_members_archive(
    member_client: Any, member: Customer, make_customer: Any, system_actor: Actor
) -> None:
    from rapport.privacy import services

    other = make_customer(name="Other", email="other@example.com")
    request = services.receive_request(customer=other, kind="access", source="email", actor=system_actor)
    services.verify_request(request, method="email_code", note="code", actor=system_actor)
    done = scenario.fulfil_now(request, system_actor)
    client = member_client(member)
    assert client.get(f"/portal/privacy/archive/{services.archive_token(done)}/").status_code == 404


def test_the_customer_page_has_a_privacy_tab_that_receives_a_request(console: Client, member: Customer) -> None:
    page = console.get(f"/customers/{member.pk}/?tab=privacy").content.decode()
    assert 'id="customer-privacy-request"' in page and "No requests." in page
    response = console.post("/privacy/", {"customer_id": member.pk, "kind": "access", "source": "store"})
    assert response.status_code == 302
    assert "Copy of personal data" in console.get(f"/customers/{member.pk}/?tab=privacy").content.decode()
