"""Tagging in Chromium: a service agent tags a customer on the 360 page and sees it listed."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.tags.models import CustomerTag, TagHistory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tag_a_customer_on_the_360_page_and_see_it_listed(page, sign_in, make_staff, make_customer, make_tag):
    make_staff(roles.SERVICE_AGENT, username="agent")
    customer = make_customer(name="王芳 Wang Fang")
    make_tag("Prefers phone", colour="#2f5bd3")
    make_tag("Complained", colour="#c0392b")

    sign_in("agent")
    page.goto(f"/customers/{customer.pk}/")
    page.click(".tabs >> text=Tags")
    page.wait_for_url("**?tab=tags")
    assert page.locator("#no-tags").is_visible()

    page.select_option("#add-tag", label="Complained")
    page.click("#add-tag-button")
    page.wait_for_url("**?tab=tags")
    held = page.locator("#customer-tags .tag-held")
    assert held.count() == 1 and "Complained" in held.first.inner_text()
    assert "added" in page.inner_text(".tag-history") and "agent" in page.inner_text(".tag-history")

    page.click("#customer-tags .remove-tag")
    page.wait_for_url("**?tab=tags")
    assert page.locator("#no-tags").is_visible()
    assert not CustomerTag.objects.filter(customer=customer).exists()
    assert list(TagHistory.objects.filter(customer_id=customer.pk).values_list("action", flat=True)) == [
        "removed",
        "added",
    ]

    page.goto("/tags/")
    assert "Complained" in page.inner_text("main")
