"""On a phone (390×844, English and 简体中文): a salesperson sees an alert about a customer's complaint
on the home page and on the reminder list, and turns email alerts off; then shares a product link
with a customer from the contact page and copies it; the customer opening it is shown. Nothing
scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.clienteling import alerts
from rapport.clienteling.models import AlertSettings, SharedLink
from rapport.service.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LANGUAGES = [
    ("en", "Alerts on my customers", "Complaint opened", "Copied", "opened once"),
    ("zh-hans", "我的客户动态提醒", "投诉", "已复制", "已打开 1 次"),
]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _on_a_phone(page: Any, live_server: Any, language: str) -> None:
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})


@pytest.mark.parametrize(("language", "panel", "reason", "copied", "opened"), LANGUAGES)
def test_an_owner_sees_an_alert_and_turns_email_off(
    page, live_server, sign_in, make_staff, make_customer, store, language, panel, reason, copied, opened
):
    seller = make_staff(roles.SALES, store=store, username="seller")
    unhappy = make_customer(name="Xu Lan", owner=seller.pk, phone="13900008888")
    now = timezone.now()
    Ticket.objects.create(
        subject="破损", category="complaint", channel="phone", customer=unhappy, created_at=now, updated_at=now
    )
    assert alerts.alert_owners()["made"] == 1
    _on_a_phone(page, live_server, language)
    sign_in("seller")

    page.goto("/")
    alert = page.locator("#my-alerts-list li").first
    assert panel in page.content() and reason in alert.inner_text() and "Xu Lan" in alert.inner_text()
    assert _fits(page)
    alert.locator("a").click()
    page.wait_for_url(f"**/customers/{unhappy.pk}/**")

    page.goto("/counter/tasks/reminders/")
    card = page.locator("section.reminder.alert[data-reason=complaint]")
    assert "Xu Lan" in card.inner_text()
    assert page.is_checked("#alert-by-email")
    page.uncheck("#alert-by-email")
    page.locator("#alert-settings button[type=submit]").click()
    page.wait_for_selector(".message.success")
    assert not page.is_checked("#alert-by-email")
    assert AlertSettings.objects.get(user=seller).by_email is False
    assert _fits(page)


@pytest.mark.parametrize(("language", "panel", "reason", "copied", "opened"), LANGUAGES)
def test_a_salesperson_shares_a_product_link_and_sees_it_opened(
    page, live_server, sign_in, make_staff, make_customer, store, language, panel, reason, copied, opened
):
    seller = make_staff(roles.SALES, store=store, username="seller")
    customer = make_customer(name="Zhou Min", owner=seller.pk)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _on_a_phone(page, live_server, language)
    sign_in("seller")

    page.goto(f"/counter/tasks/contact/{customer.pk}/")
    page.fill("#share-url", "https://shop.example.com/products/oolong-gift-box-with-a-rather-long-address")
    page.fill("#share-title", "Oolong gift box")
    page.locator("#share-form button[type=submit]").click()
    page.wait_for_selector(".shared-link.new")
    link = SharedLink.objects.get()
    assert link.staff == seller
    assert page.inner_text(".shared-link.new code").endswith(f"/s/{link.token}")
    page.locator(".shared-link.new button[data-copy]").click()
    page.wait_for_function(
        "(text) => document.querySelector('.shared-link.new button[data-copy]').textContent === text", arg=copied
    )
    assert page.evaluate("navigator.clipboard.readText()").endswith(f"/s/{link.token}")
    assert _fits(page)

    opened_by_customer = Client().get(f"/s/{link.token}")
    assert opened_by_customer["Location"].startswith("https://shop.example.com/products/")
    page.reload()
    assert opened in page.inner_text("#shared-links")
    assert "Oolong gift box" in page.inner_text("#recent-contacts")
