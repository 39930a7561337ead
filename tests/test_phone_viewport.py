"""Every console page fits a phone (390×844): nothing scrolls sideways, nothing is cut off.

The pages come from the URL configuration (:mod:`rapport.testing.tour`), shown to the demo's
admin over the demo shop (the 360 page once per tab). The shop is loaded once for the module and
served by a live server of the module's own, so the pages are not reloaded for every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test.utils import modify_settings
from playwright.sync_api import Error as PlaywrightError

from rapport.testing import tour
from rapport.testing.browser import sign_in_on

# No test transaction (``django_db``): the live server's own connection writes to the shop (a page
# that counts a segment, a sign-in), and a transaction held open by the test would keep SQLite's
# write lock from it. The tests read the database under ``django_db_blocker.unblock()``.
pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
CONSOLE = [route for route in tour.routes() if not route.portal]

# The elements that stick out past the right edge, for the failure message.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .filter(e => {  // inside a box that scrolls on its own, sticking out is fine
      for (let p = e.parentElement; p; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return false;
      }
      return true;
    })
    .slice(0, 6)
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`
      + ` (${Math.round(e.getBoundingClientRect().right)} px)`);
}"""


@pytest.fixture(scope="module")
def site(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """The demo shop behind a live server for this module; its URL."""
    from pytest_django.live_server_helper import LiveServer

    for logins in tour.load_demo_site(django_db_blocker):
        with modify_settings(ALLOWED_HOSTS={"append": "localhost"}):
            server = LiveServer("localhost")
            try:
                yield server.url, logins  # type: ignore[misc]
            finally:
                server.stop()


@pytest.fixture(scope="module")
def phone(chromium: Any, site: Any) -> Iterator[Any]:
    """A phone-sized browser signed in as the demo's admin, in English: its longer words are the
    harder case (a Chinese line breaks between any two characters)."""
    url, logins = site
    context = chromium.new_context(base_url=url, locale="en-US", viewport=PHONE)
    context.set_default_timeout(20_000)
    page = sign_in_on(context.new_page(), logins["admin"], logins["password"])
    yield page
    context.close()


@pytest.mark.parametrize("route", CONSOLE, ids=lambda r: r.name)
def test_console_page_fits_a_phone_without_scrolling_sideways(
    route: tour.Route, phone: Any, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        from django.contrib.auth.models import User

        visits = tour.visits(route, tabs_of=User.objects.get(username="admin"))
    problems, opened = [], 0
    for visit in visits:
        try:
            response = phone.goto(visit.url, wait_until="load")
        except PlaywrightError as exc:  # a file (an export) downloads instead of showing a page
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        if route.name != "console:login":
            assert "/login/" not in phone.url, f"{visit.label}: sent to the login page"
        opened += 1
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{visit.label}: {width} px wide; past the edge: {phone.evaluate(OVERFLOWING)}")
    if not opened:
        pytest.skip(f"{route.name} shows no page in the demo shop (a redirect or a file)")
    assert not problems, "\n".join(problems)


def test_customer_list_on_a_phone_shows_results_first_and_folds_the_filters(phone: Any) -> None:
    phone.goto("/customers/")
    assert phone.is_visible("#q") and phone.is_visible("#more-filters-button")
    assert not phone.is_visible("#f-channel")
    first_row = phone.locator("#customer-table tbody tr").first.bounding_box()
    assert first_row is not None and first_row["y"] < PHONE["height"], "the first result is below the first screen"
    name = phone.locator("#customer-table tbody td").first.bounding_box()
    assert name is not None and name["height"] < 40, "a name is broken over several lines"
    phone.click("#more-filters-button")
    assert phone.is_visible("#f-channel")
    phone.select_option("#f-channel", index=1)
    phone.click("#customer-filters button[type=submit]")
    phone.wait_for_url("**channel=*")
    assert phone.is_visible("#f-channel"), "filters in use stay open"
