"""403, 404 and 500 in the console's layout, a quiet log for refusals, and a real favicon."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import path

from rapport.accounts import roles
from rapport.urls import urlpatterns as rapport_urls

pytestmark = pytest.mark.django_db


def _fail(request):
    raise RuntimeError("boom")


urlpatterns = [*rapport_urls, path("test-failure/", _fail)]
handler500 = "rapport.console.errors.server_error"


def test_403_is_a_styled_page_with_navigation_and_no_traceback_in_the_log(client, make_staff, caplog):
    analyst = make_staff(roles.STORE_STAFF)
    client.force_login(analyst)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/audit/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="error-page"' in page and "Not allowed" in page and 'class="mainnav"' in page
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert refusals and all(r.exc_info is None for r in refusals)
    assert "Forbidden" in refusals[0].getMessage()


def test_404_is_a_styled_page_with_navigation(client, make_staff):
    client.force_login(make_staff(roles.OPERATOR))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and 'class="mainnav"' in page and "console.css" in page


def test_404_in_chinese(client, make_staff):
    client.force_login(make_staff(roles.OPERATOR))
    response = client.get("/no-such-page/", headers={"accept-language": "zh-hans"})
    assert "找不到页面" in response.content.decode()


@pytest.mark.urls(__name__)
def test_500_is_a_styled_page_with_navigation(make_staff):
    client = Client(raise_request_exception=False)
    client.force_login(make_staff(roles.OPERATOR))
    response = client.get("/test-failure/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and 'class="mainnav"' in page and "boom" not in page


def test_signed_out_visitors_get_the_page_without_navigation(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "mainnav" not in response.content.decode()


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("console/favicon.ico")
    page = client.get("/login/").content.decode()
    assert 'rel="icon"' in page
