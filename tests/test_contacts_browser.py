"""A salesperson on a phone (390×844, English and 简体中文) records a call on their customer: the page
says marketing by call is closed (the customer withdrew it) and offers service only, the contact
shows as last contacted and on the 360 timeline; nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings

from rapport.accounts import roles
from rapport.clienteling.models import Contact
from rapport.core.actor import Actor
from rapport.customers import consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("language", "closed"), [("en", "No marketing by Call"), ("zh-hans", "不可通过电话")])
def test_a_salesperson_records_a_call_on_a_phone(
    page, live_server, sign_in, make_staff, make_customer, store, language, closed
):
    seller = make_staff(roles.SALES, store=store, username="seller")
    customer = make_customer(name="Liu Yang", owner=seller.pk)
    consent.set_consent(customer, channel="call", purpose="marketing", granted=False, actor=Actor.system("test"))
    consent.set_consent(customer, channel="wechat", purpose="marketing", granted=True, actor=Actor.system("test"))
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("seller")

    page.goto(f"/customers/{customer.pk}/?tab=tasks")
    page.click("#record-contact")
    assert closed in page.inner_text("#contact-no-marketing")
    assert _fits(page)
    page.select_option("#contact-kind", "call")
    page.select_option("#contact-purpose", "service")
    page.fill("#contact-note", "约了周六试衣")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector(".message.success")
    assert "约了周六试衣" in page.inner_text("#recent-contacts")
    contact = Contact.objects.get(customer=customer)
    assert (contact.kind, contact.purpose, contact.staff_id) == ("call", "service", seller.pk)
    assert page.inner_text("#last-contacted") != ""
    assert _fits(page)

    page.goto(f"/customers/{customer.pk}/?tab=timeline")
    row = page.locator("#timeline tr[data-kind=contact]")
    assert "约了周六试衣" in row.inner_text()
