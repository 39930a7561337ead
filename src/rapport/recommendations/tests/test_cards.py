"""The pages that list suggestions show a product read as plain values (``ProductCard``)."""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string

from rapport.commerce.models import Category, Product
from rapport.recommendations.models import Reason
from rapport.recommendations.services import ProductCard, Suggestion

CARD = ProductCard(
    7, "tea-7", "Longjing 龙井", "West Lake", 3, "tea", Decimal("88.00"), "CNY", "", "https://shop.test/tea-7", True
)


def test_the_customer_tab_shows_each_suggestion_with_its_reason() -> None:
    html = render_to_string(
        "recommendations/tabs/recommendations.html",
        {"suggestions": [Suggestion(CARD, 0.9, Reason.POPULAR, "popular now")], "run": None},
    )
    assert "Longjing 龙井" in html and "tea-7" in html and "88.00 CNY" in html and "popular now" in html


def test_a_card_of_a_product_model_carries_its_category_code(db: None) -> None:
    category = Category.objects.create(code="tea", name="Tea")
    product = Product.objects.create(sku="tea-7", name="Longjing", category=category, price=Decimal("88.00"))
    card = ProductCard.of(product)
    assert (card.pk, card.sku, card.category_id, card.category_code) == (product.pk, "tea-7", category.pk, "tea")
    assert ProductCard.of(Product.objects.create(sku="loose", name="Loose", price=Decimal("1"))).category_code is None
