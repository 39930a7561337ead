"""The segment builder in Chromium with the promotion conditions: an operator picks "holds a valid
personal promotion" and "did not use that promotion in the last 7 days" by name (no id typed), sees
the count and saves — in English on a desktop and in 简体中文 on a phone (390×844)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.promotions import personal
from rapport.promotions.models import PromotionUse
from rapport.promotions.tests.factories import personal_promotion
from rapport.segments.models import Segment
from rapport.testing.browser import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = [("en", "desktop"), ("zh-hans", "phone")]


@pytest.mark.parametrize(("language", "viewport"), CASES, ids=["en-desktop", "zh-hans-phone"])
def test_an_operator_segments_holders_of_a_personal_promotion_who_did_not_use_it(
    open_page, sign_in, make_staff, make_customer, language, viewport
):
    promotion = personal_promotion()
    waiting, bought, _never = (make_customer(name=name) for name in ("Waiting Wu", "Bought Bai", "Never Ni"))
    personal.grant(promotion, [(waiting.pk, "a"), (bought.pk, "b")], hours=72, now=timezone.now())
    PromotionUse.objects.create(promotion=promotion, customer=bought, key="checkout:1", amount=Decimal("30"))

    make_staff(roles.OPERATOR, username="builder")
    page = open_page(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone")
    sign_in("builder", language=language, page=page)

    page.goto("/segments/new/")
    for condition_type, op in (("personal_promotion", "has"), ("promotion_used", "did_not")):
        page.click("#rule-builder .add-condition >> nth=0")
        condition = page.locator(".rule-condition").last
        condition.locator(".condition-type").select_option(condition_type)
        condition.locator("select[data-field=op]").select_option(op)
        picker = condition.locator(".generic-field[data-field=promotion] .entity-picker")
        picker.locator("input.entity-search").fill("lapsed")
        picker.locator("li.entity-result").first.click()
        picker.locator(".chip").wait_for()
        if condition_type == "promotion_used":
            condition.locator("select.window-preset").select_option("7")
    page.wait_for_function("() => document.getElementById('live-count').textContent === '1'")
    assert "Waiting Wu" in page.inner_text("#live-preview")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    if language == "zh-hans":
        assert "持有有效的专属促销" in page.inner_text("#rule-builder")

    page.fill("#id_name", "Holding, not used")
    page.click("#save-segment")
    segment = Segment.objects.get(name="Holding, not used")
    page.wait_for_url(f"**/segments/{segment.pk}/")
    assert segment.rule["all"] == [
        {"type": "personal_promotion", "op": "has", "promotion": promotion.pk},
        {"type": "promotion_used", "op": "did_not", "promotion": promotion.pk, "window_days": 7},
    ]
