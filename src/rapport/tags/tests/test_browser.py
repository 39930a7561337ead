"""Tagging in Chromium: a service agent tags a customer on the 360 page and sees it listed."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.tags.models import CustomerTag, Tag, TagHistory

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


def test_an_automatic_tag_rule_is_built_with_the_segment_builder_not_typed_as_json(
    page, sign_in, make_staff, make_customer, category
):
    """The tag page embeds the same builder: pick a condition, preview the count, save; the JSON
    is an advanced view only, and an edit there redraws the pickers."""
    make_staff(roles.OPERATOR, username="tagger")
    make_customer(name="Amy", city="上海")
    make_customer(name="Bob", city="北京")
    sign_in("tagger")
    page.goto(f"/tags/new/?category={category.pk}")
    assert not page.locator("#id_rule").is_visible()
    page.fill("#id_name", "Shanghai")
    page.select_option("#id_type", "automatic")
    page.click("#rule-builder .add-condition")
    condition = page.locator(".rule-condition").nth(0)
    condition.locator(".condition-type").select_option("profile")
    condition.locator(".subject").select_option("city")
    condition.locator("input.value").fill("上海")
    page.click("#preview-rule")
    assert "1 customer" in page.inner_text("#preview-count")
    assert page.locator(".rule-condition input.value").input_value() == "上海"  # the rule survives the preview
    page.click("#show-json")
    assert '"上海"' in page.input_value("#id_rule")
    page.click("#save-tag")
    page.wait_for_url("**/tags/*/")
    tag = Tag.objects.get(name="Shanghai")
    condition = {"type": "profile", "field": "city", "op": "eq", "value": "上海"}
    assert tag.rule in (condition, {"all": [condition]})
