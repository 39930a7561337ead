"""The ``tag`` condition of the segment rule language::

    {"type": "tag", "op": "has_any" | "has_all" | "has_none", "tags": [12, "Value/VIP"]}

Tags are named by id or ``"category/name"`` and stored as ids once cleaned, so renaming a tag
does not break the rules that use it. In SQL each test is an ``EXISTS`` on the customer's tags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from rapport.segments import operators as ops
from rapport.segments.conditions import model_entity
from rapport.segments.rules import (
    ConditionType,
    Context,
    Facts,
    Field,
    register_condition,
    register_entity,
    register_facts,
    register_source,
)
from rapport.tags.models import CustomerTag, Tag

TAG_OPS = ("has_any", "has_all", "has_none")


def _holds(tag_ids: list[int]) -> Exists:
    links = CustomerTag.objects.filter(customer=OuterRef("pk"))
    return Exists(links.filter(tag_id=tag_ids[0]) if len(tag_ids) == 1 else links.filter(tag_id__in=tag_ids))


class TagCondition(ConditionType):
    def clean(self, condition: Mapping[str, Any], path: str) -> dict[str, Any]:
        from rapport.tags.services import resolve_tags

        op = condition.get("op")
        if op not in TAG_OPS:
            raise ops.fail(f"{path}.op", f"one of: {', '.join(TAG_OPS)}")
        tags = resolve_tags(condition.get("tags"), path=f"{path}.tags")
        return {"op": op, "tags": sorted(tag.pk for tag in tags)}

    def q(self, condition: Mapping[str, Any], context: Context) -> Q:
        tag_ids = list(condition["tags"])
        op = condition["op"]
        if op == "has_all":
            combined = Q()
            for tag_id in tag_ids:
                combined &= Q(_holds([tag_id]))
            return combined
        held = Q(_holds(tag_ids))
        return held if op == "has_any" else ~held

    def matches(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> bool:
        held: set[int] = facts["tags"] or set()
        wanted = set(condition["tags"])
        if condition["op"] == "has_all":
            return wanted <= held
        return bool(wanted & held) == (condition["op"] == "has_any")

    def actual(self, condition: Mapping[str, Any], facts: Facts, context: Context) -> Any:
        """The tags of the condition the customer holds, by name."""
        held = (facts["tags"] or set()) & set(condition["tags"])
        return [_tag_name(tag) for tag in Tag.objects.filter(pk__in=held).select_related("category")]


def _tag_name(tag: Tag) -> str:
    return f"{tag.category.name}/{tag.name}"


def _tag_facts(ids: list[int]) -> dict[int, Any]:
    held: dict[int, set[int]] = defaultdict(set)
    for customer_id, tag_id in CustomerTag.objects.filter(customer_id__in=ids).values_list("customer_id", "tag_id"):
        held[customer_id].add(tag_id)
    return {pk: held.get(pk, set()) for pk in ids}


def tag_source() -> list[dict[str, Any]]:
    """Tags as ``Category/Name`` (a rule accepts the id or that name)."""
    tags = Tag.objects.select_related("category").order_by("category__name", "name")
    return [{"value": str(t.pk), "label": f"{t.category.name}/{t.name}"} for t in tags]


def register() -> None:
    register_entity(
        model_entity(
            "tag",
            _("Tag"),
            lambda: Tag.objects.select_related("category").order_by("category__name", "name"),
            search=("name", "category__name"),
            show=_tag_name,
            permission="tags.view_tag",
        )
    )
    register_facts("tags", _tag_facts)
    register_source("tags", tag_source)
    register_condition(
        TagCondition(
            "tag",
            _("Tags"),
            facts=("tags",),
            fields=(
                Field(
                    "op",
                    _("Test"),
                    "choice",
                    choices=(
                        ("has_any", _("has any of")),
                        ("has_all", _("has all of")),
                        ("has_none", _("has none of")),
                    ),
                ),
                Field("tags", _("Tags"), "multi", source="tags", entity="tag"),
            ),
        )
    )
