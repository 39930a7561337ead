"""The built-in tag templates' texts in the reader's language.

The built-in templates are rows a migration wrote in English; their English texts are the message
ids, listed here with ``gettext_noop`` so that they stay in the catalogue. :func:`localised` gives
a built-in template in the active language, for the templates page and for applying it: the
categories and tags it creates are named in the language of the person who applies it (a Chinese
console gets 生命周期 / 新客, not Lifecycle / New). A shop's own templates are shown as typed.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_noop as _

from rapport.tags.models import TagTemplate

TAG_CONTEXT = "tag"  # the tag "New" (a new customer), not a ticket's or a plan's "New"
CATEGORY_TEXTS = [
    _("Lifecycle: new / active / dormant / lost"),
    _("Automatic lifecycle stages from orders."),
    _("Value: VIP / regular"),
    _("Automatic value tiers from the last year's spending."),
    _("Service notes"),
    _("Manual tags for customer-service staff."),
    _("Lifecycle"),
    _("Where the customer is in their life with the shop (kept by rules)."),
    _("Value"),
    _("What the customer is worth over the last year (kept by rules)."),
    _("Service"),
    _("What service staff should know before talking to the customer."),
    _("Registered in the last 30 days."),
    _("Ordered in the last 90 days."),
    _("Last order 90 to 365 days ago."),
    _("Last order more than a year ago."),
    _("Spent 5000 or more in the last 365 days."),
    _("Ordered in the last 365 days, spent less than 5000."),
    _("Filed a complaint (投诉)."),
    _("Reach by phone, not messages."),
    _("No marketing calls."),
    _("Often buys gifts for others."),
]


def _tag_name(name: str) -> str:
    """Tag names are short words that mean something else elsewhere (a ticket's "New"), so they
    are translated in a context of their own (msgctxt "tag" in the catalogue)."""
    return pgettext(TAG_CONTEXT, name)


def localised(template: TagTemplate) -> TagTemplate:
    """The template with its name, description, categories and tags in the active language (an
    unsaved copy); a template that is not built in, as it is."""
    if not template.is_builtin:
        return template
    definition: dict[str, Any] = copy.deepcopy(template.definition)
    for category in definition.get("categories", []):
        category["name"] = gettext(category["name"])
        category["description"] = gettext(category.get("description", ""))
        for tag in category.get("tags", []):
            tag["name"] = _tag_name(tag["name"])
            tag["description"] = gettext(tag.get("description", ""))
    return TagTemplate(
        pk=template.pk,
        key=template.key,
        name=gettext(template.name),
        description=gettext(template.description),
        definition=definition,
        is_builtin=True,
        created_at=template.created_at,
    )
