"""The console in Chromium: the path a store manager takes every day."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.customers.models import ChangeRecord
from rapport.testing.browser import switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_a_customer_by_phone_edit_and_see_the_history(page, sign_in, make_staff, make_customer):
    make_staff(roles.OPERATOR, username="mei")
    customer = make_customer(name="李娜 Li Na", phone="13912345678", city="上海")
    make_customer(name="Someone Else", phone="13800001111")

    sign_in("mei")
    page.fill("#q", "139 1234 5678")
    page.click("#customer-filters button[type=submit]")
    page.wait_for_url("**/customers/?q=139*")  # count the rows of the results page, once it has loaded
    page.wait_for_load_state()
    rows = page.locator("#customer-table tbody tr")
    assert rows.count() == 1
    assert "139****5678" in rows.first.inner_text()

    page.click("text=李娜 Li Na")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert "139****5678" in page.inner_text("#profile")

    page.click("#edit-customer")
    page.fill("#id_email", "not-an-email")
    page.click("#save-customer")
    page.locator("#email-errors").wait_for()  # the form comes back with the error: wait for its page

    page.fill("#id_email", "")
    page.fill("#id_city", "杭州")
    page.click("#save-customer")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert page.inner_text("#profile-city") == "杭州"

    page.click(".tabs >> text=History")
    history = page.inner_text("#history-table")
    assert "City" in history and "上海" in history and "杭州" in history and "mei" in history
    # values are sealed with the customer's key: read, then compared
    assert [c.new_value for c in ChangeRecord.objects.filter(customer=customer, field="city")] == ["杭州"]


def test_language_switch_to_chinese(page, sign_in, make_staff):
    make_staff(roles.OPERATOR, username="lang")
    sign_in("lang")
    switch_language(page, "zh-hans")  # the switch posts the form and reloads the page
    page.wait_for_selector("nav.mainnav >> text=客户")
    assert "订单" in page.inner_text("nav.mainnav")
