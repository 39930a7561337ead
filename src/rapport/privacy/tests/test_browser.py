"""The request workflow as people use it: staff in the console, a member in the portal."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from rapport.core.actor import Actor
from rapport.customers.models import Customer
from rapport.privacy.models import DataSubjectRequest
from rapport.testing.browser import VIEWPORTS

pytestmark = pytest.mark.browser
ACTOR = Actor.system("test")


@pytest.fixture
def phone(open_page: Any, live_server: Any, settings: Any) -> Any:
    settings.RAPPORT_PUBLIC_URL = live_server.url
    return open_page(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)


def test_staff_receive_verify_and_erase_in_the_console(
    sign_in: Any, admin_user: Any, make_customer: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erasure is a job in the server's own pool (the embedded default): the page says it is
    under way and follows it until the outcome shows."""
    from rapport.core import jobs

    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    monkeypatch.setattr(jobs, "_pool", None)  # a pool of this test's own
    customer = make_customer(name="Han Mei", phone="13500135000", email="han.mei@example.com")
    page = sign_in(admin_user.username)
    page.click(".mainnav >> text=Privacy")
    page.wait_for_url("**/privacy/")
    page.fill("#id_customer_id", str(customer.pk))
    page.select_option("#id_kind", "erasure")
    page.select_option("#id_source", "letter")
    page.click("#receive-request button[type=submit]")
    page.wait_for_selector("#verify-form")
    assert page.inner_text("#request-status") == "Received"

    page.select_option("#id_method", "id_document")
    page.fill("#id_note", "Copy of the ID card enclosed with the letter")
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#fulfil-form")
    assert "Copy of the ID card" in page.inner_text("#verification")

    page.check("#confirm-erase")
    page.click("#fulfil-form button[type=submit]")
    page.wait_for_selector("text=being erased")
    page.wait_for_selector("#erasure-outcome", timeout=60_000)  # the page reloads until the job is done
    assert page.inner_text("#request-status") == "Completed"
    assert Customer.objects.get(pk=customer.pk).email == ""

    page.click("text=← Data-subject requests")
    assert "No requests." in page.inner_text("#privacy-requests")


def test_member_downloads_a_copy_then_cancels_the_account(
    phone: Any, make_customer: Any, sent_codes: list[str]
) -> None:
    member: Customer = make_customer(name="Du Juan", phone="13600000004", email="du.juan@example.com")
    phone.goto("/portal/privacy/")
    phone.fill("#id_identifier", "136 0000 0004")
    phone.click("button[type=submit]")
    phone.wait_for_selector("#id_code")
    phone.fill("#id_code", sent_codes[-1])
    phone.click("button[type=submit]")
    phone.wait_for_url("**/portal/privacy/")

    phone.click("#ask-copy button[type=submit]")
    phone.wait_for_selector("#my-requests .download")
    with phone.expect_download() as download:
        phone.click("#my-requests .download")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "du.juan@example.com" in archive.read("customers.json").decode()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.click("#cancel-account button[type=submit]")
    phone.wait_for_selector("text=Tick the box")
    phone.check("#confirm-cancel")
    phone.click("#cancel-account button[type=submit]")
    phone.wait_for_selector("#cancelled")
    assert "Du Juan" not in phone.content()
    assert Customer.objects.get(pk=member.pk).name == f"#{member.pk}"
    assert DataSubjectRequest.objects.filter(customer=member, kind="erasure", status="completed").exists()
    phone.goto("/portal/privacy/")
    phone.wait_for_selector("#id_identifier")  # signed out


def test_an_operator_retries_a_stalled_job_from_the_jobs_page(sign_in: Any, make_staff: Any) -> None:
    from django.utils import timezone

    from rapport.accounts import roles
    from rapport.core.models import BackgroundJob, JobStatus

    job = BackgroundJob.objects.create(
        task="rapport.loyalty.issue_to_segment",
        args=[999, 999, "k", "test"],
        status=JobStatus.STALLED,
        attempts=1,
        heartbeat_at=timezone.now(),
        error="its worker stopped (last heartbeat 2026-12-01 10:00:00 UTC)",
    )
    operator = make_staff(roles.OPERATOR)
    page = sign_in(operator.username)
    page.goto("/privacy/jobs/")
    row = page.locator(f"#job-{job.pk}")
    assert "Stalled" in row.inner_text() and "its worker stopped" in row.inner_text()
    row.locator("button", has_text="Retry").click()
    page.wait_for_selector("text=is queued again")
    page.select_option("#f-status", "all")
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/privacy/jobs/?status=all")
    assert "Finished" in page.locator(f"#job-{job.pk}").inner_text()


def test_an_operator_on_a_phone_in_chinese_sees_job_kinds_and_cancels_a_queued_training(
    open_page: Any, sign_in: Any, make_staff: Any
) -> None:
    from rapport.accounts import roles
    from rapport.core.models import BackgroundJob, JobStatus

    job = BackgroundJob.objects.create(task="rapport.recommendations.train")
    operator = make_staff(roles.OPERATOR)
    page = open_page(viewport=VIEWPORTS["phone"], locale="zh-CN", is_mobile=True, has_touch=True)
    sign_in(operator.username, next_url="/privacy/jobs/", page=page)
    row = page.locator(f"#job-{job.pk}")
    assert "推荐模型训练" in row.inner_text()
    row.locator("button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    assert BackgroundJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize(
    ("locale", "viewport", "heading"),
    [
        ("en-US", {"width": 1280, "height": 800}, "Preparing the copy"),
        ("zh-CN", {"width": 390, "height": 844}, "正在准备副本"),
    ],
)
def test_staff_follow_a_copy_built_in_the_background_and_retry_its_failed_job(
    open_page: Any,
    sign_in: Any,
    live_server: Any,
    admin_user: Any,
    make_customer: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    locale: str,
    viewport: dict[str, int],
    heading: str,
) -> None:
    """The copy is built by a job in the server's own pool (the embedded default); the page follows
    it, shows the failure with a Retry button, and the link once the retried job has built it."""
    from rapport.core import jobs
    from rapport.privacy import services

    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    settings.RAPPORT_PUBLIC_URL = live_server.url
    monkeypatch.setattr(jobs, "_pool", None)  # a pool of this test's own
    built = services.write_archive

    def full_disk(customer: Customer, out: Any, **_: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(services, "write_archive", full_disk)
    customer = make_customer(name="Qin Lan", phone="13500135011", email="qin.lan@example.com")
    request = services.receive_request(customer=customer, kind="access", source="store", actor=ACTOR)
    services.verify_request(request, method="id_document", note="ID card at the counter", actor=ACTOR)
    page = open_page(viewport=viewport, locale=locale)
    sign_in(admin_user.username, next_url=f"/privacy/{request.pk}/", page=page)
    page.wait_for_selector("#fulfil-form")
    page.click("#fulfil-form button[type=submit]")
    page.wait_for_selector("#archive-preparation")
    assert heading in page.inner_text("#archive-preparation")
    page.wait_for_selector("#retry-preparation", timeout=60_000)  # the page reloads until the job stops
    assert "no space left on device" in page.inner_text("#preparation-error")

    monkeypatch.setattr(services, "write_archive", built)
    page.click("#retry-preparation button[type=submit]")
    page.wait_for_selector("#archive-url", timeout=60_000)
    assert "/portal/privacy/archive/" in page.inner_text("#archive-url")
    assert DataSubjectRequest.objects.get(pk=request.pk).status == "completed"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
