"""The bodies the recommendations API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from rapport.core.api import Body


class SuggestionOut(Body):
    sku: str
    name: str
    brand: str
    category: str | None
    price: str
    currency: str
    image_url: str
    product_url: str
    score: float
    reason: str
    reason_text: str
    because_sku: str | None
    support: float | None = None  # related products bought together: the rule's measures
    confidence: float | None = None
    lift: float | None = None


class CustomerRecommendationsOut(Body):
    customer_id: int
    results: list[SuggestionOut]


class RelatedProductsOut(Body):
    sku: str
    results: list[SuggestionOut]


CustomerRecommendationsOut.model_rebuild()
RelatedProductsOut.model_rebuild()
