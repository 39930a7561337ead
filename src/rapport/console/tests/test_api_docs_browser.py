"""The API's interactive documentation works on a machine without internet access."""

from __future__ import annotations

import pytest

from rapport.accounts import roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_with_every_outside_request_blocked(page, sign_in, make_staff, live_server):
    make_staff(roles.ADMIN, username="docs")
    sign_in("docs")
    outside: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/api/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert "Rapport API" in page.inner_text(".swagger-ui .info")
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert outside == [] and errors == []
