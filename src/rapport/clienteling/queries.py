"""What other apps read of clienteling: a customer's contacts (the 360 timeline) and when they were
last contacted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Max, QuerySet

from rapport.clienteling.models import Contact


def contacts_of(customer_id: int) -> QuerySet[Contact]:
    """Newest first, with the staff member and store."""
    return Contact.objects.filter(customer_id=customer_id).select_related("staff", "store")


def last_contacted(customer_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """When each customer was last contacted (customers never contacted are left out); one query."""
    rows = (
        Contact.objects.filter(customer_id__in=list(customer_ids))
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "last")
    )
    return dict(rows)
