"""The demo shop's recommendations: consumable categories may be recommended again, one product
is excluded, and the models are trained on the shop's history (as the nightly run would)."""

from __future__ import annotations

from rapport.commerce.models import Category, Product
from rapport.demo.catalogue import REPEAT_CATEGORIES
from rapport.demo.steps import DemoContext
from rapport.recommendations import training
from rapport.recommendations.models import Rule


def seed_recommendations(context: DemoContext) -> dict[str, int]:
    Rule.objects.bulk_create(
        Rule(kind=Rule.Kind.REPEAT, category=category)
        for category in Category.objects.filter(code__in=REPEAT_CATEGORIES)
    )
    last = Product.objects.order_by("-pk").first()
    if last is not None:
        Rule.objects.create(kind=Rule.Kind.EXCLUDE, product=last)
    run = training.train(now=context.now, say=context.say)
    return {"recommendation_lists": run.customers}
