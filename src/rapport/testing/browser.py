"""Browser fixtures: Playwright driving Debian's chromium against pytest-django's live server.

Never a browser downloaded by Playwright: CI installs the ``chromium`` package. Tests using
these fixtures carry the ``browser`` marker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rapport.testing.fixtures import STAFF_PASSWORD

CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


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
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_page(chromium: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages in browser contexts of their own, for a test that needs what the default ``page``
    lacks: a phone's mobile layout or touch (``is_mobile``, ``has_touch``), or another browser
    language (``locale``). Every context is closed when the test ends."""
    contexts: list[Any] = []

    def open_one(*, viewport: dict[str, int] = VIEWPORTS["desktop"], locale: str = "en-US", **options: Any) -> Any:
        context = chromium.new_context(base_url=live_server.url, locale=locale, viewport=viewport, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()


def switch_language(page: Any, language: str) -> None:
    """Switch the console to ``language`` with the menu in its header (the form posts and reloads)."""
    with page.expect_navigation():
        page.select_option("select[name=language]", language)


def sign_in_on(
    page: Any, username: str, password: str = STAFF_PASSWORD, *, next_url: str = "/customers/", language: str = "en"
) -> Any:
    """Sign in through the console's login form, wait for ``next_url``, and switch the console to
    ``language`` unless it is English (the console's language until someone picks another)."""
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**{next_url}")
    if language != "en":
        switch_language(page, language)
    return page


@pytest.fixture
def sign_in(request: pytest.FixtureRequest, live_server: Any) -> Callable[..., Any]:
    """``sign_in(username, *, language=..., next_url=..., page=...)`` signs a staff member in and
    returns the page: the default ``page`` unless one from ``open_page`` is given. It asks for
    ``live_server`` itself, so that pytest-django gives the test a database the server's thread
    sees (the default ``page`` is only fetched when the test signs in)."""

    def sign_in_as(
        username: str,
        password: str = STAFF_PASSWORD,
        *,
        next_url: str = "/customers/",
        language: str = "en",
        page: Any = None,
    ) -> Any:
        on = page if page is not None else request.getfixturevalue("page")
        return sign_in_on(on, username, password, next_url=next_url, language=language)

    return sign_in_as
