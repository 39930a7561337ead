"""The "Tags" tab of the customer 360 page: the customer's tags, adding/removing, history."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer
from rapport.tags.models import CustomerTag, Tag, TagHistory


def tags_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    links = list(CustomerTag.objects.filter(customer=customer).select_related("tag__category", "added_by"))
    held = {link.tag_id for link in links}
    addable = (
        Tag.objects.filter(type=Tag.Type.MANUAL, is_active=True)
        .filter(Q(store__isnull=True) | Q(store_id=customer.store_id))
        .exclude(pk__in=held)
        .select_related("category")
    )
    history = TagHistory.objects.filter(customer_id=customer.pk).select_related("tag__category")[:50]
    return {"tag_links": links, "addable_tags": addable, "tag_history": history}


def register() -> None:
    register_customer_tab(
        CustomerTab("tags", _("Tags"), "tags/tabs/tags.html", tags_tab, position=20, permission="tags.view_tag")
    )
