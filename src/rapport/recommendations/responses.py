"""The bodies the recommendations API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from rapport.core.api import Body


class RecommendationOut(Body):
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
    results: list[RecommendationOut]


class RelatedProductsOut(Body):
    sku: str
    results: list[RecommendationOut]


CustomerRecommendationsOut.model_rebuild()
RelatedProductsOut.model_rebuild()
