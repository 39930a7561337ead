"""The "send recommendations" step: each customer's own recommendations sent through a channel.

It is a send step (channel, purpose, A/B variants of content templates, the same guards and
dispatch) whose templates must show the recommendations — a block email with a *Product
recommendations* block, or a text template that uses ``recommendations`` — and which writes a
message only for the customers who have any: the recommendations app's list with stock and the
merchant's rules applied (and, with the step's ``exclude_running_out``, without the products
forecast to run out). The others skip it and go on to the next step.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from rapport.campaigns.delivery import content
from rapport.campaigns.models import ContentTemplate
from rapport.core.errors import FieldError
from rapport.recommendations.services import for_customers


def shows_recommendations(template: ContentTemplate) -> bool:
    if template.blocks:
        return any(block.get("type") == "recommendations" for block in template.blocks)
    return any("recommendations" in content.variables_used(part) for part in (template.subject, template.body))


def check_templates(path: str, cleaned: Mapping[str, Any], errors: list[FieldError]) -> None:
    """Each variant's template must show the recommendations, or the step would send without them."""
    ids = [v["template"] for v in cleaned.get("variants", []) if v.get("template")]
    templates = ContentTemplate.objects.in_bulk(ids)
    for index, variant in enumerate(cleaned.get("variants", [])):
        template = templates.get(variant.get("template"))
        if template is not None and not shows_recommendations(template):
            errors.append(
                FieldError(
                    f"{path}.variants.{index}.template",
                    "no_recommendations",
                    f"{template} shows no recommendations: add a Product recommendations block "
                    "or use {{ recommendations }}",
                )
            )


def left_out(config: Mapping[str, Any]) -> frozenset[int]:
    """The products a step's messages leave out: those forecast to run out, when it asks."""
    return content.running_out_products() if config.get(content.LEAVE_OUT_RUNNING_OUT) else frozenset()


def with_recommendations(customer_ids: Collection[int], config: Mapping[str, Any]) -> set[int]:
    """The customers who have at least one product to be recommended now (one batch of queries)."""
    found = for_customers(customer_ids, limit=1, leave_out=left_out(config))
    return {pk for pk, suggestions in found.items() if suggestions}
