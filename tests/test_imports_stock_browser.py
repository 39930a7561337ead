"""A stock file uploaded in the console runs through the same engine and lands on the stock page."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.commerce import services as commerce
from rapport.core.actor import Actor
from rapport.imports.models import ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def own_job_pool(monkeypatch):
    from rapport.core import jobs

    monkeypatch.setattr(jobs, "_pool", None)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_upload_stock_levels_and_see_them_on_the_stock_page(page, sign_in, make_staff, tmp_path, settings, language):
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = True
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    commerce.upsert_product(data={"sku": "TEA-1", "name": "Longjing", "price": "88"}, actor=Actor.system("test"))
    path = tmp_path / "levels.csv"
    path.write_text("商品编码,库存数量,补货周期\nTEA-1,12,9\nNOPE,3,\n", encoding="utf-8")
    make_staff(roles.ADMIN, username="boss")

    sign_in("boss", language=language)
    page.goto("/stock/")
    page.click("#stock-import")  # the stock page leads to the upload with the kind chosen
    assert page.input_value("#id_kind") == "stock"
    page.set_input_files("#id_file", str(path))
    page.click("button[type=submit].primary")
    page.wait_for_url("**/imports/*/")
    page.wait_for_selector("[data-first-errors]", timeout=120_000)
    job = ImportJob.objects.get()
    assert (job.kind, job.status, job.created_rows, job.error_rows) == ("stock", "succeeded", 1, 1)
    assert "sku" in page.inner_text("[data-first-errors]")
    page.goto("/stock/?q=TEA-1")
    assert "12" in page.inner_text("main")
