"""An operator prices a cart in the promotions preview calculator — in English and in Chinese, on a
desktop and on a phone (390×844) — and sees the price and the reason for every discount; the page
never scrolls sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.accounts import roles
from rapport.core.actor import Actor
from rapport.promotions.services import create_promotion
from rapport.testing.browser import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = [("en", "desktop"), ("zh-hans", "desktop"), ("en", "phone"), ("zh-hans", "phone")]


@pytest.fixture
def calculator_page(open_page, sign_in, make_staff, request):
    language, viewport = request.param
    make_staff(roles.OPERATOR, username="promoter")
    page = open_page(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone")
    return sign_in("promoter", language=language, page=page), language


@pytest.mark.parametrize("calculator_page", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_an_operator_prices_a_cart_and_sees_the_reasons(calculator_page):
    page, language = calculator_page
    create_promotion(
        {
            "code": "MAN300",
            "name": "满300减30",
            "kind": "full_reduction",
            "starts_at": timezone.now() - timedelta(hours=1),
            "tiers": [{"threshold": "300", "amount_off": "30"}, {"threshold": "500", "amount_off": "60"}],
        },
        actor=Actor.system("test"),
    )
    create_promotion(
        {
            "code": "TEE-FLASH",
            "name": "T恤限时价",
            "kind": "limited_time_price",
            "skus": ["TEE"],
            "price": "150.00",
            "max_units_per_line": 1,
            "starts_at": timezone.now() - timedelta(hours=1),
        },
        actor=Actor.system("test"),
    )
    page.goto("/promotions/")
    page.click("#open-preview")
    page.wait_for_selector("#preview-form")
    page.fill("#id_lines", "TEE 3 180 tops\nCAP 1 40")
    page.click("#run-preview")
    page.wait_for_selector("#preview-result")
    # 3 × 180 + 40 = 580; one tee at the limited price (−30), then 550 ≥ 500: −60
    assert page.inner_text("#preview-gross") == "580.00"
    assert page.inner_text("#preview-total") == "490.00"
    reasons = page.inner_text("#preview-lines")
    assert "T恤限时价 −30.00" in reasons and "满300减30 −" in reasons
    heading = page.inner_text("h1")
    assert heading == ("预览计算器" if language == "zh-hans" else "Preview calculator")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
