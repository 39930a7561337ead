"""Console pages: an operator creates a promotion from the form (tiers one a line), sees it in the
calendar with overlaps flagged, opens its report, and prices a cart in the preview calculator."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.promotions.models import Promotion

pytestmark = pytest.mark.django_db

FORM = {
    "code": "MAN300",
    "name": "满300减30",
    "kind": "full_reduction",
    "is_active": "on",
    "starts_at": "2026-12-01T00:00",
    "audience": "everyone",
    "tiers": "300 30\n500 60",
    "with_order_offers": "on",
    "with_coupons": "on",
}


@pytest.fixture
def operator(make_staff: Any, client: Client) -> Client:
    client.force_login(make_staff(roles.OPERATOR))
    return client


def test_an_operator_creates_a_promotion_and_sees_overlaps_flagged(operator: Client) -> None:
    saved = operator.post("/promotions/new/", FORM)
    assert saved.status_code == 302
    promotion = Promotion.objects.get()
    assert promotion.tiers[1] == {"threshold": "500", "amount_off": "60", "percent_off": None}
    again = operator.post("/promotions/new/", {**FORM, "code": "MAN300-B"}, follow=True)
    assert "Overlaps MAN300" in again.content.decode()
    listing = operator.get("/promotions/").content.decode()
    assert listing.count('class="overlapping"') == 2
    report = operator.get(f"/promotions/{promotion.pk}/")
    assert report.status_code == 200 and "promotion-figures" in report.content.decode()


def test_the_form_names_bad_tiers(operator: Client) -> None:
    answer = operator.post("/promotions/new/", {**FORM, "tiers": "500 60\n300 30"})
    assert answer.status_code == 200
    assert "Thresholds must rise tier by tier." in answer.content.decode()
    assert not Promotion.objects.exists()


def test_the_preview_calculator_prices_a_cart_with_reasons(operator: Client) -> None:
    operator.post("/promotions/new/", FORM)
    page = operator.get("/promotions/preview/", {"lines": "TEE 3 180 tops"}).content.decode()
    assert 'id="preview-total">480.00<' in page and "满300减30 −60.00" in page
    bad = operator.get("/promotions/preview/", {"lines": "TEE three 180"}).content.decode()
    assert "Line 1: a SKU, a quantity and a unit price." in bad
