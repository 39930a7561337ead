"""The segment builder in Chromium: build a two-condition segment, watch the count, save, see the portrait."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.segments.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_a_segment_see_the_live_count_save_and_open_its_portrait(page, sign_in, make_staff, shop):
    make_staff(roles.OPERATOR, username="seg")
    sign_in("seg")
    page.click("nav.mainnav >> text=Segments")
    page.click("#new-segment")
    page.wait_for_url("**/segments/new/")

    page.click("#rule-builder .add-condition")
    first = page.locator(".rule-condition").nth(0)
    first.locator(".condition-type").select_option("profile")
    first.locator(".subject").select_option("city")
    first.locator(".op").select_option("eq")
    first.locator("input.value").fill("上海")
    page.wait_for_function("() => document.getElementById('live-count').textContent === '2'")
    assert page.locator("#live-preview li").count() == 2

    page.click("#rule-builder .add-condition >> nth=0")
    second = page.locator(".rule-condition").nth(1)
    second.locator(".condition-type").select_option("profile")
    second.locator(".subject").select_option("gender")
    second.locator("select.value").select_option("female")
    page.wait_for_function("() => document.getElementById('live-count').textContent === '1'")
    assert "Amy" in page.inner_text("#live-preview")

    page.fill("#id_name", "Women in Shanghai")
    page.click("#save-segment")
    segment = Segment.objects.get(name="Women in Shanghai")
    page.wait_for_url(f"**/segments/{segment.pk}/")
    assert page.inner_text("#segment-count") == "1"
    assert "Female" in page.inner_text("#dimension-gender")
    assert segment.rule["all"][1] == {"type": "profile", "field": "gender", "op": "eq", "value": "female"}


def test_a_bad_value_is_shown_beside_its_condition(page, sign_in, make_staff, shop):
    make_staff(roles.ANALYST, username="ana")
    sign_in("ana")
    page.goto("/segments/new/")
    page.click("#rule-builder .add-condition")
    condition = page.locator(".rule-condition").nth(0)
    condition.locator(".condition-type").select_option("orders")
    condition.locator(".subject").select_option("count")
    condition.locator(".op").select_option("gte")
    condition.locator("input.value").fill("1.5")
    error = condition.locator(".node-error")
    error.wait_for()
    assert "whole number" in error.inner_text()
    condition.locator("input.value").fill("1")
    page.wait_for_function("() => document.getElementById('live-count').textContent === '2'")
    assert condition.locator(".node-error").count() == 0
