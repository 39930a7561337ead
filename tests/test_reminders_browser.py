"""A salesperson completes today's care reminder list on a phone (390×844, English and 简体中文): from
the task list to the reminders, copies a suggested message, snoozes one, marks the other done, and the
list is empty; nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from rapport.accounts import roles
from rapport.clienteling import reminders
from rapport.clienteling.models import Reminder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(
    ("language", "heading", "copied", "empty"),
    [
        ("en", "Today's care reminders", "Copied", "Nothing to do today"),
        ("zh-hans", "今日关怀提醒", "已复制", "今天没有待办"),
    ],
)
def test_a_salesperson_completes_todays_reminder_list(
    page, live_server, sign_in, make_staff, make_customer, store, language, heading, copied, empty
):
    seller = make_staff(roles.SALES, store=store, username="seller")
    today = timezone.localdate()
    make_customer(name="Zhou Min", owner=seller.pk, phone="13900007777", birthday=today.replace(year=1990).isoformat())
    make_customer(name="Qian Li", owner=seller.pk, registered_at=f"{today.year - 2}-{today:%m-%d}T04:00:00+00:00")
    assert sum(reminders.make_reminders(today).values()) == 2
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("seller")

    page.goto("/counter/tasks/")
    page.click("#to-reminders")
    assert heading in page.inner_text("h1")
    assert page.inner_text("#reminder-count") == "2"
    assert _fits(page)
    birthday = page.locator("section.reminder[data-reason=birthday]")
    assert "Zhou Min" in birthday.inner_text() and "139****7777" in birthday.inner_text()
    birthday.locator("button[data-copy]").click()
    page.wait_for_function(
        "(text) => document.querySelector('[data-reason=birthday] button[data-copy]').textContent === text",
        arg=copied,
    )
    assert "Zhou Min" in page.evaluate("navigator.clipboard.readText()")

    page.locator("section.reminder[data-reason=anniversary] form[action$='/snooze/'] button").click()
    page.wait_for_selector(".message.success")
    assert page.inner_text("#reminder-count") == "1"
    page.locator("section.reminder[data-reason=birthday] .mark-done").click()
    page.wait_for_selector("#reminders-empty")
    assert empty in page.inner_text("#reminders-empty")
    assert _fits(page)
    assert set(Reminder.objects.values_list("reason", "status")) == {("birthday", "done"), ("anniversary", "open")}
