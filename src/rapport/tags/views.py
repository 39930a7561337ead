"""Console pages for tags: categories and tags, automatic tag rules with a preview count,
templates, batch tagging (from the customer list's filters or an uploaded id file), tag sync
with its dead letters, and the add/remove actions of the customer 360 "Tags" tab.

Views only translate between HTTP and the services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, InvalidInput
from rapport.core.listing import filled_params, page_offset, paginate
from rapport.core.requests import console_actor, error_text
from rapport.customers import queries as customer_queries
from rapport.customers.models import Customer
from rapport.segments.models import Segment
from rapport.segments.views import builder_context
from rapport.tags import services
from rapport.tags.api import run_file_batch
from rapport.tags.builtin import localised
from rapport.tags.forms import BatchFileForm, CategoryForm, EndpointForm, TagForm, manual_tags
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

PAGE_SIZE = 50


# Categories and tags -----------------------------------------------------------------------------


@login_required
@permission_required("tags.view_tag", raise_exception=True)
def tag_list(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("tags.add_tagcategory"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.create_category(data=form.data_for_service(), actor=console_actor(request))
                messages.success(request, _("Category created."))
                return redirect("tags:list")
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
    categories = TagCategory.objects.prefetch_related("tags")
    counts = dict(CustomerTag.objects.values_list("tag_id").annotate(n=Count("id")).values_list("tag_id", "n"))
    groups = [(c, [(t, counts.get(t.pk, 0)) for t in c.tags.all()]) for c in categories]
    return render(request, "tags/list.html", {"nav": "tags", "groups": groups, "category_form": form})


@login_required
@require_POST
@permission_required("tags.delete_tagcategory", raise_exception=True)
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.delete_category(get_object_or_404(TagCategory, pk=pk), actor=console_actor(request))
        messages.success(request, _("Category deleted."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("tags:list")


def _tag_form_page(request: HttpRequest, tag: Tag | None) -> HttpResponse:
    form = TagForm(
        request.POST or None, instance=tag, initial=None if tag else {"category": request.GET.get("category")}
    )
    preview: int | None = None
    if request.method == "POST":
        needed = "tags.change_tag" if tag else "tags.add_tag"
        if not request.user.has_perm(needed):
            raise PermissionDenied
        if form.is_valid():
            data = form.data_for_service()
            if form.is_valid():  # the rule parsed as JSON
                try:
                    if "preview" in request.POST:
                        preview = _preview(request, form, data)
                    elif tag is None:
                        tag = services.create_tag(data=data, actor=console_actor(request))
                        messages.success(request, _("Tag created."))
                        return redirect("tags:detail", pk=tag.pk)
                    else:
                        services.update_tag(tag, data=data, actor=console_actor(request))
                        messages.success(request, _("Changes saved."))
                        return redirect("tags:detail", pk=tag.pk)
                except DomainError as exc:
                    form.add_service_errors(exc)
    context: dict[str, Any] = {
        "nav": "tags",
        "form": form,
        "tag": tag,
        "preview_count": preview,
        **builder_context([], json_view="rule-advanced"),
    }
    if tag is not None:
        context["holder_count"] = CustomerTag.objects.filter(tag=tag).count()
        visible = customer_queries.visible_customers(request.user).values("pk")
        context["history"] = TagHistory.objects.filter(tag=tag, customer_id__in=visible).select_related("tag")[:50]
        context["batches"] = TagBatch.objects.filter(tag=tag)[:10]
    return render(request, "tags/edit.html", context)


def _preview(request: HttpRequest, form: TagForm, data: dict[str, Any]) -> int | None:
    rule = data.get("rule") if "rule" in data else form.rule_value()
    if rule is None:
        form.add_error("rule", _("Write a rule to preview."))
        return None
    try:
        store = services.store_of(data["store"]) if data.get("store") else None
        return services.preview_count(rule, actor=console_actor(request), store=store)
    except InvalidInput as exc:
        form.add_service_errors(exc)
        return None


@login_required
@permission_required("tags.view_tag", raise_exception=True)
def tag_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("tags.add_tag"):
        raise PermissionDenied
    return _tag_form_page(request, None)


@login_required
@permission_required("tags.view_tag", raise_exception=True)
def tag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _tag_form_page(request, get_object_or_404(Tag.objects.select_related("category", "store"), pk=pk))


@login_required
@require_POST
@permission_required("tags.evaluate_tag", raise_exception=True)
def tag_evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk, type=Tag.Type.AUTOMATIC)
    result = services.evaluate_tag(tag)
    messages.success(
        request,
        _("Rule run: %(added)s added, %(removed)s removed.") % {"added": result.added, "removed": result.removed},
    )
    return redirect("tags:detail", pk=tag.pk)


# Templates ---------------------------------------------------------------------------------------


@login_required
@permission_required("tags.view_tagtemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    templates = [localised(t) for t in TagTemplate.objects.all()]
    return render(request, "tags/templates.html", {"nav": "tags", "templates": templates})


@login_required
@require_POST
def template_apply(request: HttpRequest, key: str) -> HttpResponse:
    if not (request.user.has_perm("tags.add_tag") and request.user.has_perm("tags.add_tagcategory")):
        raise PermissionDenied
    template = get_object_or_404(TagTemplate, key=key)
    result = services.apply_template(template, actor=console_actor(request))
    messages.success(
        request,
        _("%(name)s: %(tags)s tags created, %(existing)s already there.")
        % {"name": localised(template).name, "tags": result["tags_created"], "existing": result["tags_existing"]},
    )
    return redirect("tags:list")


# Batches -----------------------------------------------------------------------------------------


@login_required
@permission_required("tags.batch_tag", raise_exception=True)
def batch(request: HttpRequest) -> HttpResponse:
    """Tag the customers the list's filters select (the filters come in the query string)."""
    source = request.POST if request.method == "POST" else request.GET
    filters = {k: v for k, v in filled_params(source).items() if k not in {"tag", "action", "csrfmiddlewaretoken"}}
    filters.pop("order_by", None)
    filters.pop("page", None)
    errors: list[Any] = []
    matched: int | None = None
    try:
        matched = customer_queries.filter_customers(customer_queries.visible_customers(request.user), filters).count()
    except InvalidInput as exc:
        errors = exc.errors
    if request.method == "POST" and not errors:
        tag = manual_tags().filter(pk=request.POST.get("tag") or 0).first()
        if tag is None:
            errors = [InvalidInput.single("tag", "required", _("Choose a tag.")).errors[0]]
        else:
            try:
                done = services.batch_filtered(
                    tag, action=request.POST.get("action"), filters=filters, actor=console_actor(request)
                )
                return redirect("tags:batch_detail", pk=done.pk)
            except DomainError as exc:
                errors = exc.errors
    context = {
        "nav": "tags",
        "filters": filters,
        "matched": matched,
        "errors": errors,
        "tags": manual_tags(),
        "actions": TagBatch.Action.choices,
        "file_form": BatchFileForm(),
        "segments": Segment.objects.filter(is_template=False).order_by("name"),
        "list_url": reverse("customers:list") + ("?" + request.GET.urlencode() if request.GET else ""),
    }
    return render(request, "tags/batch.html", context)


@login_required
@require_POST
@permission_required("tags.batch_tag", raise_exception=True)
def batch_segment(request: HttpRequest) -> HttpResponse:
    tag = manual_tags().filter(pk=request.POST.get("tag") or 0).first()
    segment = Segment.objects.filter(pk=request.POST.get("segment") or 0).first()
    if tag is None or segment is None:
        messages.error(request, _("Choose a tag and a segment."))
        return redirect("tags:batch")
    try:
        done = services.batch_segment(
            tag, action=request.POST.get("action"), segment=segment, actor=console_actor(request)
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("tags:batch")
    return redirect("tags:batch_detail", pk=done.pk)


@login_required
@require_POST
@permission_required("tags.batch_tag", raise_exception=True)
def batch_file(request: HttpRequest) -> HttpResponse:
    form = BatchFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            done = run_file_batch(
                form.cleaned_data["tag"],
                action=form.cleaned_data["action"],
                upload=form.cleaned_data["file"],
                actor=console_actor(request),
            )
            return redirect("tags:batch_detail", pk=done.pk)
        except DomainError as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None, error.message)
    context = {
        "nav": "tags",
        "filters": {},
        "matched": None,
        "errors": [],
        "tags": manual_tags(),
        "actions": TagBatch.Action.choices,
        "file_form": form,
        "list_url": reverse("customers:list"),
    }
    return render(request, "tags/batch.html", context, status=422)


@login_required
@permission_required("tags.batch_tag", raise_exception=True)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    done = get_object_or_404(TagBatch.objects.select_related("tag__category"), pk=pk)
    return render(request, "tags/batch_detail.html", {"nav": "tags", "batch": done})


# Sync --------------------------------------------------------------------------------------------


@login_required
@permission_required("tags.view_syncendpoint", raise_exception=True)
def sync(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    secret = None
    if request.method == "POST":
        if not request.user.has_perm("tags.add_syncendpoint"):
            raise PermissionDenied
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            try:
                endpoint, secret = services.create_endpoint(
                    data={"name": "", "url": "", **data}, actor=console_actor(request)
                )
                messages.success(request, _("Endpoint %(name)s added.") % {"name": endpoint.name})
                form = EndpointForm()
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
    endpoints = SyncEndpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=SyncDelivery.Status.PENDING)),
        dead=Count("deliveries", filter=Q(deliveries__status=SyncDelivery.Status.DEAD)),
    )
    dead = SyncDelivery.objects.filter(status=SyncDelivery.Status.DEAD).select_related("endpoint")
    page = paginate(dead, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    context = {"nav": "tags", "form": form, "endpoints": endpoints, "page": page, "new_secret": secret}
    return render(request, "tags/sync.html", context)


@login_required
@require_POST
@permission_required("tags.change_syncendpoint", raise_exception=True)
def endpoint_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(SyncEndpoint, pk=pk)
    services.update_endpoint(endpoint, data={"is_active": not endpoint.is_active}, actor=console_actor(request))
    return redirect("tags:sync")


@login_required
@require_POST
@permission_required("tags.retry_delivery", raise_exception=True)
def retry(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    dead = SyncDelivery.objects.all() if pk is None else SyncDelivery.objects.filter(pk=pk)
    count = services.retry_deliveries(dead, actor=console_actor(request))
    messages.success(request, _("%(count)s deliveries queued again.") % {"count": count})
    return redirect("tags:sync")


# The customer 360 tab ----------------------------------------------------------------------------


def _visible_customer(request: HttpRequest, pk: int) -> Customer:
    customer = customer_queries.visible_customers(request.user).filter(pk=pk).first()
    if customer is None:
        raise Http404(_("No such customer, or not one of yours."))
    return customer


def _tab_url(customer: Customer) -> str:
    return reverse("customers:detail", args=[customer.pk]) + "?tab=tags"


@login_required
@require_POST
@permission_required("tags.tag_customer", raise_exception=True)
def customer_add(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _visible_customer(request, customer_pk)
    try:
        ids = [int(v) for v in request.POST.getlist("tag") if v.isdecimal() and len(v) < 19]
        tags = services.resolve_tags(ids or None)
        added = services.add_tags(customer, tags, actor=console_actor(request))
        if added:
            messages.success(request, _("Tagged: %(tags)s.") % {"tags": ", ".join(t.name for t in added)})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect(_tab_url(customer))


@login_required
@require_POST
@permission_required("tags.tag_customer", raise_exception=True)
def customer_remove(request: HttpRequest, customer_pk: int, tag_pk: int) -> HttpResponse:
    customer = _visible_customer(request, customer_pk)
    tag = get_object_or_404(Tag, pk=tag_pk)
    try:
        if services.remove_tags(customer, [tag], actor=console_actor(request)):
            messages.success(request, _("Removed %(tag)s.") % {"tag": tag.name})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect(_tab_url(customer))
