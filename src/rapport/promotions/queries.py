"""What other apps may read about promotions: the uses recorded for a checkout, and each promotion's
performance (orders, revenue after promotions, discount cost net of refunds)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from rapport.promotions.models import PersonalPromotion, Promotion, PromotionUse


def uses_for(key: str) -> QuerySet[PromotionUse]:
    """The promotions applied to one redeemed checkout (its idempotency key)."""
    return PromotionUse.objects.filter(key=key).select_related("promotion").order_by("promotion__code")


def by_code(code: str) -> Promotion | None:
    return Promotion.objects.filter(code=code).first()


def performance(promotion: Promotion) -> dict[str, Decimal | int]:
    """Orders that used the promotion and its discount cost net of refunds."""
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
    row = PromotionUse.objects.filter(promotion=promotion).aggregate(
        orders=Count("key", distinct=True),
        uses=Count("id"),
        discount=Coalesce(Sum(F("amount") - F("reversed_amount")), zero),
        revenue=Coalesce(Sum("order_amount"), zero),
    )
    cent = Decimal("0.01")
    return {
        "orders": row["orders"],
        "uses": row["uses"],
        "discount": Decimal(row["discount"]).quantize(cent),
        "revenue": Decimal(row["revenue"]).quantize(cent),
    }


def granted_customers(promotion: Promotion) -> int:
    """Customers a campaign granted this (personal) promotion to, once each."""
    return PersonalPromotion.objects.filter(promotion=promotion).values("customer_id").distinct().count()
