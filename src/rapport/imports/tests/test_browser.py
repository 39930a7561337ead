"""An upload in Chromium: the job runs in the background, the page follows it and shows the errors."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.customers.models import Customer
from rapport.imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def own_job_pool(monkeypatch):
    """A pool of its own for each test's in-process jobs: the pool has one worker, and a follow-up
    job an earlier test left queued (its database flushed under it) must not hold the worker this
    test's import waits for."""
    from rapport.core import jobs

    monkeypatch.setattr(jobs, "_pool", None)


def test_upload_follow_progress_and_see_the_first_errors(page, sign_in, make_staff, tmp_path, settings):
    settings.RAPPORT_JOBS_SYNC = False  # the job runs in the background, as in production
    settings.RAPPORT_JOBS_INPROCESS = True
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    rows = "".join(f"c{i},Customer {i},139{i:08d}\n" for i in range(1, 3001))
    bad = "b1,,13800000001\nb2,Bad phone,12345\nb3,=cmd|' /C calc'!A0,13800000003\n"
    path = tmp_path / "members.csv"
    path.write_text("id,name,phone\n" + rows + bad, encoding="utf-8")
    make_staff(roles.OPERATOR, username="operator")

    sign_in("operator")
    page.goto("/imports/")
    page.select_option("#id_kind", "customers")
    page.set_input_files("#id_file", str(path))
    page.click("button[type=submit].primary")
    page.wait_for_url("**/imports/*/")
    progress = page.locator("#import-progress")
    assert progress.is_visible() and page.locator("[role=progressbar]").is_visible()

    # the page polls and reloads itself once the job is done
    page.wait_for_selector("[data-progress=status_label]:has-text('Finished')", timeout=120_000)
    job = ImportJob.objects.get()
    assert (job.status, job.created_rows, job.error_rows) == ("succeeded", 3001, 2)
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
    errors = page.inner_text("[data-first-errors]")
    assert "3002" in errors and "name" in errors and "3003" in errors and "phone" in errors
    assert page.locator("[data-report-link]").is_visible()
    assert Customer.objects.count() == 3001
    # a formula-like name is stored as given and shown as text, never run
    assert Customer.objects.filter(name="=cmd|' /C calc'!A0").exists()


def test_upload_a_platform_export_choosing_its_preset(page, sign_in, make_staff, tmp_path, settings):
    from pathlib import Path

    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    export = Path(__file__).resolve().parent.parent / "testdata" / "presets" / "youzan_customers.csv"
    make_staff(roles.OPERATOR, username="operator")

    sign_in("operator")
    page.goto("/imports/")
    page.select_option("#id_kind", "customers")
    page.select_option("#id_preset", "youzan")
    page.fill("#id_channel", "youzan")
    page.set_input_files("#id_file", str(export))
    page.click("button[type=submit].primary")
    page.wait_for_url("**/imports/*/")
    page.wait_for_selector("[data-progress=status_label]:has-text('Finished')", timeout=120_000)
    job = ImportJob.objects.get()
    assert (job.preset, job.status, job.created_rows, job.error_rows) == ("youzan", "succeeded", 2, 1)
    assert "external_id" in page.inner_text("[data-first-errors]")
    assert "Youzan" in page.inner_text("#import-progress")
    assert set(Customer.objects.values_list("name", flat=True)) == {"王芳", "刘洋"}


def test_the_form_refuses_a_preset_that_does_not_fit_the_kind(page, sign_in, make_staff, tmp_path, settings):
    from pathlib import Path

    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    export = Path(__file__).resolve().parent.parent / "testdata" / "presets" / "jd_orders.csv"
    make_staff(roles.OPERATOR, username="operator")
    sign_in("operator")
    page.goto("/imports/")
    page.select_option("#id_kind", "loyalty")
    page.select_option("#id_preset", "jd")
    page.set_input_files("#id_file", str(export))
    page.click("button[type=submit].primary")
    page.wait_for_selector(".errors")
    assert "not loyalty" in page.inner_text(".errors")
    assert not ImportJob.objects.exists()
