"""Browser fixtures: Playwright driving Debian's chromium against pytest-django's live server.

Never a browser downloaded by Playwright: CI installs the ``chromium`` package. Tests using
these fixtures carry the ``browser`` marker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from rapport.testing.fixtures import STAFF_PASSWORD

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between page actions are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page: Any) -> Any:
    def sign_in_as(username: str, password: str = STAFF_PASSWORD) -> Any:
        page.goto("/login/?next=/customers/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit].primary")
        page.wait_for_url("**/customers/")
        return page

    return sign_in_as
