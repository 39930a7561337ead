"""The background jobs page and API: list, retry, cancel; bad input and scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import IMPORTS
from rapport.audit.models import AuditEntry
from rapport.core.models import BackgroundJob, JobStatus
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db
STALLED_NOTE = "its worker stopped (last heartbeat 2026-12-01 10:00:00 UTC)"


@pytest.fixture
def stalled() -> BackgroundJob:
    """A coupon issue whose worker died: not queued again by itself, waiting for a person."""
    beat = timezone.now() - dt.timedelta(hours=1)
    return BackgroundJob.objects.create(
        task="rapport.loyalty.issue_to_segment",
        args=[999, 999, "key-1", "test"],
        resumable=False,
        status=JobStatus.STALLED,
        attempts=1,
        heartbeat_at=beat,
        started_at=beat,
        finished_at=beat,
        error=STALLED_NOTE,
    )


@pytest.fixture
def queued() -> BackgroundJob:
    return BackgroundJob.objects.create(task="rapport.loyalty.issue_to_segment", args=[998, 998, "key-2", "test"])


def _post(client: Client, path: str) -> Any:
    return client.post(f"/api/v1{path}", {}, content_type="application/json")


def test_the_api_lists_retries_and_cancels_jobs(
    admin_api: Client, stalled: BackgroundJob, queued: BackgroundJob, django_capture_on_commit_callbacks: Any
) -> None:
    listed = admin_api.get("/api/v1/jobs?status=open").json()
    assert [j["id"] for j in listed["results"]] == [queued.pk, stalled.pk]
    assert listed["results"][1]["error"] == STALLED_NOTE

    with django_capture_on_commit_callbacks(execute=True):
        retried = _post(admin_api, f"/api/v1/jobs/{stalled.pk}/retry".removeprefix("/api/v1"))
    assert retried.status_code == 200, retried.content
    # the task ran again (inline in tests): the template is gone, so it finishes having issued nothing
    assert admin_api.get(f"/api/v1/jobs/{stalled.pk}").json()["status"] == "succeeded"
    assert admin_api.get(f"/api/v1/jobs/{stalled.pk}").json()["attempts"] == 2

    cancelled = _post(admin_api, f"/jobs/{queued.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert AuditEntry.objects.filter(object_type__endswith="backgroundjob").count() == 2


def test_the_api_answers_bad_input_and_finished_jobs_with_the_field(admin_api: Client, queued: BackgroundJob) -> None:
    bad = admin_api.get("/api/v1/jobs?status=sleeping")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    assert admin_api.get("/api/v1/jobs?limit=0").status_code == 422
    missing = _post(admin_api, "/jobs/987654/retry")
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "job_id"
    not_yet = _post(admin_api, f"/jobs/{queued.pk}/retry")
    assert not_yet.status_code == 409 and not_yet.json()["errors"][0]["field"] == "status"
    _post(admin_api, f"/jobs/{queued.pk}/cancel")
    again = _post(admin_api, f"/jobs/{queued.pk}/cancel")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "finished"


def test_the_api_needs_the_jobs_scope_and_the_permission(
    api_client_for: Any, admin_user: Any, make_staff: Any, queued: BackgroundJob
) -> None:
    no_scope = api_client_for(admin_user, scopes=[IMPORTS])
    assert no_scope.get("/api/v1/jobs").status_code == 403
    assert _post(no_scope, f"/jobs/{queued.pk}/cancel").status_code == 403
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert analyst.get("/api/v1/jobs").status_code == 403
    operator = api_client_for(make_staff(roles.OPERATOR))
    assert operator.get("/api/v1/jobs").status_code == 200
    assert BackgroundJob.objects.get(pk=queued.pk).status == JobStatus.QUEUED


def test_the_page_shows_stalled_jobs_and_retries_them(
    client: Client, make_staff: Any, stalled: BackgroundJob, django_capture_on_commit_callbacks: Any
) -> None:
    operator = make_staff(roles.OPERATOR)
    client.login(username=operator.username, password=STAFF_PASSWORD)
    page = client.get("/privacy/jobs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="job-{stalled.pk}"' in html and STALLED_NOTE in html and "Retry" in html
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/privacy/jobs/{stalled.pk}/retry/", follow=True)
    assert "is queued again" in done.content.decode()
    assert BackgroundJob.objects.get(pk=stalled.pk).attempts == 2
    twice = client.post(f"/privacy/jobs/{stalled.pk}/cancel/", follow=True)
    assert "already" in twice.content.decode()
    assert client.get("/privacy/jobs/?status=nonsense").status_code == 200


def test_the_page_is_refused_to_staff_without_the_permission(client: Client, make_staff: Any) -> None:
    agent = make_staff(roles.SERVICE_AGENT)
    client.login(username=agent.username, password=STAFF_PASSWORD)
    assert client.get("/privacy/jobs/").status_code == 403
