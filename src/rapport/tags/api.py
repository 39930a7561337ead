"""``/api/v1`` tags: categories, tags, customers' tags, batch tagging, automatic tags, templates
and tag sync. Handlers parse, call one service and shape the answer.

Customers outside the caller's data scope answer 404, as everywhere else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from ninja import Field, File, Form, Router, Status
from ninja.files import UploadedFile

from rapport.accounts.scopes import TAGS_READ, TAGS_WRITE
from rapport.core.api import Strict, actor_for, require
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.core.listing import page_body, paginate
from rapport.customers import queries as customer_queries
from rapport.segments.models import Segment
from rapport.tags import services
from rapport.tags.models import (
    CustomerTag,
    SyncDelivery,
    SyncEndpoint,
    Tag,
    TagBatch,
    TagCategory,
    TagHistory,
    TagTemplate,
)
from rapport.tags.responses import (
    AddCustomerTagsOut,
    ApplyTemplateOut,
    BatchOut,
    CreateEndpointOut,
    DeliveryPage,
    EndpointOut,
    EvaluateOut,
    HistoryPage,
    ListTemplatesOutItem,
    RetryAllOut,
    RetryOneOut,
    TagOut,
    TagPage,
    TagsCategoryOut,
    TagsPreviewOut,
)

router = Router(tags=["tags"], exclude_unset=True)

VIEW = "tags.view_tag"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


# Bodies ---------------------------------------------------------------------------------------


class CategoryIn(Strict):
    name: str | None = None
    description: str | None = None
    position: int | None = Field(None, ge=0, le=100_000)


class TagIn(Strict):
    category: int | str | None = Field(None, description="category id or name")
    name: str | None = None
    type: Literal["manual", "automatic"] | None = None
    description: str | None = None
    colour: str | None = Field(None, description="#rrggbb")
    store: int | str | None = Field(None, description="store id or code; null: all stores")
    rule: dict[str, Any] | None = Field(None, description="automatic tags: a segment rule (see docs/segment-rules.md)")
    is_active: bool | None = None


class TagRefs(Strict):
    tags: list[int | str] = Field(min_length=1, max_length=100, description="tag ids or category/name")


class BatchIn(Strict):
    action: Literal["add", "remove"]
    filters: dict[str, str | int] | None = Field(None, description="customer list filters (as GET /customers)")
    ids: list[int | str] | None = Field(
        None, max_length=services.MAX_LISTED_IDS, description="customer ids or channel:external_id"
    )
    rule: dict[str, Any] | None = Field(None, description="a segment rule")
    segment: int | None = Field(None, description="a saved segment's id")


class RuleIn(Strict):
    rule: dict[str, Any]
    store: int | str | None = None


class EndpointIn(Strict):
    name: str | None = None
    url: str | None = None
    adapter: str | None = None
    tags: list[int | str] | None = None
    max_attempts: int | None = None
    is_active: bool | None = None


class RetryIn(Strict):
    endpoint: int | None = Field(None, description="only this endpoint's dead letters")


def _given(payload: Strict) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True)


# Representations ------------------------------------------------------------------------------


def category_body(category: TagCategory) -> dict[str, Any]:
    return {
        "id": category.pk,
        "name": category.name,
        "description": category.description,
        "position": category.position,
        "tag_count": getattr(category, "tag_count", None),
    }


def tag_body(tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.pk,
        "category": {"id": tag.category_id, "name": tag.category.name},
        "name": tag.name,
        "type": tag.type,
        "description": tag.description,
        "colour": tag.colour,
        "store": tag.store.code if tag.store else None,
        "rule": tag.rule,
        "is_active": tag.is_active,
        "holder_count": getattr(tag, "holder_count", None),
        "last_evaluated_at": tag.last_evaluated_at,
        "created_at": tag.created_at,
        "updated_at": tag.updated_at,
    }


def link_body(link: CustomerTag) -> dict[str, Any]:
    return {
        "tag": {
            "id": link.tag_id,
            "category": link.tag.category.name,
            "name": link.tag.name,
            "colour": link.tag.colour,
        },
        "added_at": link.added_at,
        "added_by": link.added_by_label,
        "source": link.source,
    }


def history_body(entry: TagHistory) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "customer_id": entry.customer_id,
        "tag": {"id": entry.tag_id, "category": entry.tag.category.name, "name": entry.tag.name},
        "action": entry.action,
        "actor": entry.actor_label,
        "source": entry.source,
        "reference": entry.reference,
        "batch_id": entry.batch_id,
        "at": entry.at,
    }


def batch_body(batch: TagBatch) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "tag_id": batch.tag_id,
        "kind": batch.kind,
        "action": batch.action,
        "matched": batch.matched,
        "changed": batch.changed,
        "unknown": batch.report,
        "created_at": batch.created_at,
    }


def endpoint_body(endpoint: SyncEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "name": endpoint.name,
        "adapter": endpoint.adapter,
        "url": endpoint.url,
        "tags": [t.pk for t in endpoint.tags.all()],
        "max_attempts": endpoint.max_attempts,
        "is_active": endpoint.is_active,
    }


def delivery_body(delivery: SyncDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_id": str(delivery.event_id),
        "endpoint_id": delivery.endpoint_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "last_status_code": delivery.last_status_code,
        "payload": delivery.payload,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
    }


def _category(category_id: int) -> TagCategory:
    category = TagCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound.single("category_id", "not_found", f"no tag category #{category_id}")
    return category


def _tag(tag_id: int) -> Tag:
    tag = Tag.objects.select_related("category", "store").filter(pk=tag_id).first()
    if tag is None:
        raise NotFound.single("tag_id", "not_found", f"no tag #{tag_id}")
    return tag


# Categories ---------------------------------------------------------------------------------


@router.get(
    "/tag-categories", response={200: list[TagsCategoryOut]}, summary="Tag categories with how many tags each has"
)
def list_categories(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, TAGS_READ, "tags.view_tagcategory")
    return [category_body(c) for c in TagCategory.objects.annotate(tag_count=Count("tags"))]


@router.post("/tag-categories", response={201: TagsCategoryOut}, summary="Create a tag category")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[dict[str, Any]]:
    require(request, TAGS_WRITE, "tags.add_tagcategory")
    return Status(201, category_body(services.create_category(data=_given(payload), actor=actor_for(request))))


@router.patch("/tag-categories/{category_id}", response={200: dict[str, Any]}, summary="Change a tag category")
def update_category(request: HttpRequest, category_id: int, payload: CategoryIn) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.change_tagcategory")
    category = _category(category_id)
    return category_body(services.update_category(category, data=_given(payload), actor=actor_for(request)))


@router.delete("/tag-categories/{category_id}", response={204: None}, summary="Delete an empty tag category")
def delete_category(request: HttpRequest, category_id: int) -> Status[None]:
    require(request, TAGS_WRITE, "tags.delete_tagcategory")
    services.delete_category(_category(category_id), actor=actor_for(request))
    return Status(204, None)


# Tags -----------------------------------------------------------------------------------------


@router.get("/tags", response={200: TagPage}, summary="Tags, with how many customers hold each")
def list_tags(
    request: HttpRequest,
    category: str | None = None,
    type: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    require(request, TAGS_READ, VIEW)
    tags = Tag.objects.select_related("category", "store").annotate(holder_count=Count("holders"))
    if category:
        by_id = category.isdecimal() and len(category) < 19
        tags = tags.filter(category__pk=int(category)) if by_id else tags.filter(category__name=category)
    if type:
        if type not in Tag.Type.values:
            raise InvalidInput.single("type", "invalid", f"one of: {', '.join(Tag.Type.values)}")
        tags = tags.filter(type=type)
    if active is not None:
        tags = tags.filter(is_active=active)
    page = paginate(tags, limit=limit, offset=offset)
    return page_body(page, [tag_body(t) for t in page.items])


@router.post("/tags", response={201: TagOut}, summary="Create a tag (manual, or automatic with a rule)")
def create_tag(request: HttpRequest, payload: TagIn) -> Status[dict[str, Any]]:
    require(request, TAGS_WRITE, "tags.add_tag")
    return Status(201, tag_body(services.create_tag(data=_given(payload), actor=actor_for(request))))


@router.get("/tags/{tag_id}", response={200: dict[str, Any]}, summary="One tag")
def get_tag(request: HttpRequest, tag_id: int) -> dict[str, Any]:
    require(request, TAGS_READ, VIEW)
    tag = _tag(tag_id)
    tag.holder_count = CustomerTag.objects.filter(tag=tag).count()  # type: ignore[attr-defined]
    return tag_body(tag)


@router.patch("/tags/{tag_id}", response={200: TagOut}, summary="Change a tag (its type is fixed)")
def update_tag(request: HttpRequest, tag_id: int, payload: TagIn) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.change_tag")
    return tag_body(services.update_tag(_tag(tag_id), data=_given(payload), actor=actor_for(request)))


@router.delete("/tags/{tag_id}", response={204: None}, summary="Delete a tag nobody ever held")
def delete_tag(request: HttpRequest, tag_id: int) -> Status[None]:
    require(request, TAGS_WRITE, "tags.delete_tag")
    services.delete_tag(_tag(tag_id), actor=actor_for(request))
    return Status(204, None)


@router.get(
    "/tags/{tag_id}/history", response={200: dict[str, Any]}, summary="Every add and remove of this tag, newest first"
)
def tag_history(request: HttpRequest, tag_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, TAGS_READ, VIEW, "tags.view_taghistory")
    tag = _tag(tag_id)
    visible = customer_queries.visible_customers(request.user).values("pk")
    entries = TagHistory.objects.filter(tag=tag, customer_id__in=visible).select_related("tag__category")
    page = paginate(entries, limit=limit, offset=offset)
    return page_body(page, [history_body(e) for e in page.items])


@router.post("/tags/{tag_id}/evaluate", response={200: EvaluateOut}, summary="Run an automatic tag's rule now")
def evaluate(request: HttpRequest, tag_id: int) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.evaluate_tag")
    tag = _tag(tag_id)
    if not tag.is_automatic:
        raise InvalidInput.single("tag_id", "manual", "only automatic tags have a rule to run")
    result = services.evaluate_tag(tag)
    return {"tag_id": tag.pk, "added": result.added, "removed": result.removed}


@router.post(
    "/tags/{tag_id}/batch",
    response={200: BatchOut},
    summary="Tag or untag a filtered list, an id list, a saved segment or a segment rule",
)
def batch(request: HttpRequest, tag_id: int, payload: BatchIn) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.batch_tag")
    tag = _tag(tag_id)
    given = [name for name in ("filters", "ids", "rule", "segment") if getattr(payload, name) is not None]
    if len(given) != 1:
        raise InvalidInput.single("body", "one_of", "give exactly one of filters, ids, rule or segment")
    actor = actor_for(request)
    if payload.filters is not None:
        done = services.batch_filtered(tag, action=payload.action, filters=payload.filters, actor=actor)
    elif payload.ids is not None:
        values = [(index + 1, str(value)) for index, value in enumerate(payload.ids)]
        done = services.batch_ids(tag, action=payload.action, values=values, actor=actor)
    elif payload.segment is not None:
        segment = Segment.objects.filter(pk=payload.segment).first()
        if segment is None:
            raise NotFound.single("segment", "not_found", f"no segment #{payload.segment}")
        done = services.batch_segment(tag, action=payload.action, segment=segment, actor=actor)
    else:
        done = services.batch_segment(tag, action=payload.action, rule=payload.rule, actor=actor)
    return batch_body(done)


@router.post(
    "/tags/{tag_id}/batch/file",
    response={200: BatchOut},
    summary="Tag or untag the customers an uploaded CSV/xlsx names",
)
def batch_file(
    request: HttpRequest,
    tag_id: int,
    action: Form[Literal["add", "remove"]],
    file: File[UploadedFile],
) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.batch_tag")
    tag = _tag(tag_id)
    if (file.size or 0) > MAX_UPLOAD_BYTES:
        raise InvalidInput.single("file", "too_large", f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    done = run_file_batch(tag, action=action, upload=file, actor=actor_for(request))
    return batch_body(done)


def run_file_batch(tag: Tag, *, action: str, upload: Any, actor: Any) -> TagBatch:
    """Save an upload beside the importer's readers (they read paths) and tag from it."""
    name = Path(upload.name or "ids.csv").name
    with tempfile.TemporaryDirectory(prefix="rapport-tags-") as folder:
        path = Path(folder) / name
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return services.batch_file(tag, action=action, path=path, file_name=name, actor=actor)


@router.post(
    "/tag-rules/preview",
    response={200: TagsPreviewOut},
    summary="How many customers a rule selects now (in your scope)",
)
def preview(request: HttpRequest, payload: RuleIn) -> dict[str, Any]:
    require(request, TAGS_READ, VIEW)
    store = None
    if payload.store not in (None, ""):
        from rapport.customers.validation import LookupCache

        store = LookupCache().store(payload.store)
        if store is None:
            raise InvalidInput.single("store", "not_found", f"no store {payload.store!r}")
    return {"count": services.preview_count(payload.rule, actor=actor_for(request), store=store)}


# A customer's tags -----------------------------------------------------------------------------


@router.get("/customers/{customer_id}/tags", response={200: list[Any]}, summary="The tags a customer holds")
def customer_tags(request: HttpRequest, customer_id: int) -> list[dict[str, Any]]:
    require(request, TAGS_READ, VIEW)
    customer = customer_queries.visible_customer(request.user, customer_id)
    return [link_body(link) for link in CustomerTag.objects.filter(customer=customer).select_related("tag__category")]


@router.post(
    "/customers/{customer_id}/tags",
    response={200: AddCustomerTagsOut},
    summary="Add manual tags (a tag already held is left as it is)",
)
def add_customer_tags(request: HttpRequest, customer_id: int, payload: TagRefs) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.tag_customer")
    customer = customer_queries.visible_customer(request.user, customer_id)
    added = services.add_tags(customer, services.resolve_tags(payload.tags), actor=actor_for(request))
    links = CustomerTag.objects.filter(customer=customer).select_related("tag__category")
    return {"added": [t.pk for t in added], "tags": [link_body(link) for link in links]}


@router.post(
    "/customers/{customer_id}/tags/remove",
    response={200: dict[str, Any]},
    summary="Remove manual tags (a tag not held is ignored)",
)
def remove_customer_tags(request: HttpRequest, customer_id: int, payload: TagRefs) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.tag_customer")
    customer = customer_queries.visible_customer(request.user, customer_id)
    removed = services.remove_tags(customer, services.resolve_tags(payload.tags), actor=actor_for(request))
    links = CustomerTag.objects.filter(customer=customer).select_related("tag__category")
    return {"removed": [t.pk for t in removed], "tags": [link_body(link) for link in links]}


@router.delete("/customers/{customer_id}/tags/{tag_id}", response={204: None}, summary="Remove one manual tag")
def remove_customer_tag(request: HttpRequest, customer_id: int, tag_id: int) -> Status[None]:
    require(request, TAGS_WRITE, "tags.tag_customer")
    customer = customer_queries.visible_customer(request.user, customer_id)
    services.remove_tags(customer, [_tag(tag_id)], actor=actor_for(request))
    return Status(204, None)


@router.get(
    "/customers/{customer_id}/tag-history",
    response={200: HistoryPage},
    summary="Every tag added to or removed from a customer",
)
def customer_tag_history(request: HttpRequest, customer_id: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, TAGS_READ, VIEW, "tags.view_taghistory")
    customer = customer_queries.visible_customer(request.user, customer_id)
    entries = TagHistory.objects.filter(customer_id=customer.pk).select_related("tag__category")
    page = paginate(entries, limit=limit, offset=offset)
    return page_body(page, [history_body(e) for e in page.items])


# Templates ----------------------------------------------------------------------------------------


@router.get(
    "/tag-templates",
    response={200: list[ListTemplatesOutItem]},
    summary="Tag templates: named sets of categories and tags",
)
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, TAGS_READ, "tags.view_tagtemplate")
    return [
        {
            "key": t.key,
            "name": t.name,
            "description": t.description,
            "builtin": t.is_builtin,
            "definition": t.definition,
        }
        for t in TagTemplate.objects.all()
    ]


@router.post(
    "/tag-templates/{key}/apply",
    response={200: ApplyTemplateOut},
    summary="Create a template's categories and tags (once)",
)
def apply_template(request: HttpRequest, key: str) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.add_tag", "tags.add_tagcategory")
    template = TagTemplate.objects.filter(key=key).first()
    if template is None:
        raise NotFound.single("key", "not_found", f"no tag template {key!r}")
    return services.apply_template(template, actor=actor_for(request))


# Tag sync -------------------------------------------------------------------------------------------


def _endpoint(endpoint_id: int) -> SyncEndpoint:
    endpoint = SyncEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound.single("endpoint_id", "not_found", f"no sync endpoint #{endpoint_id}")
    return endpoint


@router.get("/tag-sync/endpoints", response={200: list[EndpointOut]}, summary="Where tag changes are sent")
def list_endpoints(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, TAGS_READ, "tags.view_syncendpoint")
    return [endpoint_body(e) for e in SyncEndpoint.objects.prefetch_related("tags")]


@router.post(
    "/tag-sync/endpoints", response={201: CreateEndpointOut}, summary="Add an endpoint; its secret is shown once"
)
def create_endpoint(request: HttpRequest, payload: EndpointIn) -> Status[dict[str, Any]]:
    require(request, TAGS_WRITE, "tags.add_syncendpoint")
    endpoint, secret = services.create_endpoint(data=_given(payload), actor=actor_for(request))
    return Status(201, {**endpoint_body(endpoint), "secret": secret})


@router.patch("/tag-sync/endpoints/{endpoint_id}", response={200: dict[str, Any]}, summary="Change an endpoint")
def update_endpoint(request: HttpRequest, endpoint_id: int, payload: EndpointIn) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.change_syncendpoint")
    endpoint = services.update_endpoint(_endpoint(endpoint_id), data=_given(payload), actor=actor_for(request))
    return endpoint_body(endpoint)


@router.get("/tag-sync/dead-letters", response={200: DeliveryPage}, summary="Deliveries that failed every attempt")
def dead_letters(request: HttpRequest, endpoint: int | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, TAGS_READ, "tags.view_syncdelivery")
    dead = SyncDelivery.objects.filter(status=SyncDelivery.Status.DEAD)
    if endpoint is not None:
        dead = dead.filter(endpoint_id=endpoint)
    page = paginate(dead, limit=limit, offset=offset)
    return page_body(page, [delivery_body(d) for d in page.items])


@router.post(
    "/tag-sync/dead-letters/{delivery_id}/retry", response={200: RetryOneOut}, summary="Queue one dead letter again"
)
def retry_one(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.retry_delivery")
    dead = SyncDelivery.objects.filter(pk=delivery_id)
    if not dead.exists():
        raise NotFound.single("delivery_id", "not_found", f"no delivery #{delivery_id}")
    if not dead.filter(status=SyncDelivery.Status.DEAD).exists():
        raise InvalidInput(FieldError("delivery_id", "not_dead", "only dead letters can be retried"))
    return {"retried": services.retry_deliveries(dead, actor=actor_for(request))}


@router.post(
    "/tag-sync/dead-letters/retry",
    response={200: RetryAllOut},
    summary="Queue every dead letter (of one endpoint) again",
)
def retry_all(request: HttpRequest, payload: RetryIn) -> dict[str, Any]:
    require(request, TAGS_WRITE, "tags.retry_delivery")
    dead = SyncDelivery.objects.filter(status=SyncDelivery.Status.DEAD)
    if payload.endpoint is not None:
        dead = dead.filter(endpoint=_endpoint(payload.endpoint))
    return {"retried": services.retry_deliveries(dead, actor=actor_for(request))}
