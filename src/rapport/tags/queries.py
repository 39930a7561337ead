"""Reading tags, for other apps: which tags a customer holds."""

from __future__ import annotations

from django.db.models import QuerySet

from rapport.tags.models import CustomerTag


def tags_of(customer_id: int) -> QuerySet[CustomerTag]:
    """The tags a customer holds, each with its tag and category loaded."""
    return CustomerTag.objects.filter(customer_id=customer_id).select_related("tag__category")
