"""``/api/v1`` recommendations for the shop to call: a customer's products and a product's related
ones (products addressed by SKU). Lists are precomputed on a schedule; stock, exclusions and
boosts apply when asked."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rapport.accounts.scopes import RECOMMENDATIONS_READ
from rapport.core.api import require
from rapport.core.errors import InvalidInput, NotFound
from rapport.recommendations import services
from rapport.recommendations.responses import CustomerRecommendationsOut, RelatedProductsOut
from rapport.recommendations.services import MAX_LIMIT, Suggestion

router = Router(tags=["recommendations"])


def suggestion_body(s: Suggestion) -> dict[str, Any]:
    product = s.product
    return {
        "sku": product.sku,
        "name": product.name,
        "brand": product.brand,
        "category": product.category_code,
        "price": str(product.price),
        "currency": product.currency,
        "image_url": product.image_url,
        "product_url": product.product_url,
        "score": round(s.score, 4),
        "reason": s.reason,
        "reason_text": s.reason_text,
        "because_sku": s.because.sku if s.because else None,
        **s.measures,
    }


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", "invalid", f"from 1 to {MAX_LIMIT}")
    return limit


@router.get(
    "/customers/{customer_id}/recommendations",
    response={200: CustomerRecommendationsOut},
    summary="Products to recommend to a customer, with reasons",
)
def customer_recommendations(request: HttpRequest, customer_id: int, limit: int = 10) -> dict[str, Any]:
    require(request, RECOMMENDATIONS_READ, "recommendations.view_recommendation", "customers.view_customer")
    _limit(limit)
    customer = services.listed_customer(request.user, customer_id)
    items = services.suggestions_for([customer], limit=limit)[customer.pk]
    return {"customer_id": customer.pk, "results": [suggestion_body(s) for s in items]}


@router.get(
    "/products/{sku}/related",
    response={200: RelatedProductsOut},
    summary="Products bought together with this one, then similar ones",
)
def related_products(request: HttpRequest, sku: str, limit: int = 10) -> dict[str, Any]:
    require(request, RECOMMENDATIONS_READ, "recommendations.view_recommendation", "commerce.view_product")
    _limit(limit)
    product = services.card_by_sku(sku)
    if product is None:
        raise NotFound.single("sku", "not_found", f"no product {sku!r}")
    return {"sku": product.sku, "results": [suggestion_body(s) for s in services.related(product, limit=limit)]}
