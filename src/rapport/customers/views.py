"""Console pages for customers: the list, the 360 page with its tabs, editing, notes, reveal,
and the customer settings (stores, custom profile fields).

Views only translate between HTTP and the services; every rule lives in ``services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.accounts import roles
from rapport.accounts.services import role_of
from rapport.console.tabs import customer_tabs
from rapport.core.errors import DomainError, InvalidInput
from rapport.core.jobs import enqueue
from rapport.core.listing import Page, filled_params, order, page_offset, paginate
from rapport.core.requests import console_actor
from rapport.customers import consent, merge, queries, services
from rapport.customers.forms import CustomerForm, CustomFieldForm, NoteForm, StoreForm
from rapport.customers.models import (
    ConsentChannel,
    ConsentPurpose,
    Customer,
    CustomerMerge,
    CustomFieldDefinition,
    Identity,
    MemberStatus,
    MergeSuggestion,
    Store,
)

PAGE_SIZE = 25


def _visible(request: HttpRequest, pk: int) -> Customer:
    customer = queries.visible_customers(request.user).filter(pk=pk).first()
    if customer is None:
        raise Http404(_("No such customer, or not one of yours."))
    return customer


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    params = filled_params(request.GET)
    errors: list[Any] = []
    customers = queries.visible_customers(request.user)
    page: Page[Customer] | None = None
    try:
        customers = queries.filter_customers(customers, params)
        customers = order(customers, params.get("order_by"), queries.ORDERINGS, "-registered_at")
        page = paginate(customers, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    except InvalidInput as exc:
        errors = exc.errors
    sees_all = role_of(request.user) in roles.UNSCOPED_ROLES
    staff = get_user_model().objects.filter(is_active=True, groups__name__in=[roles.SALES]).order_by("username")
    context = {
        "nav": "customers",
        "page": page,
        "errors": errors,
        "params": params,
        "stores": Store.objects.all() if sees_all else [],
        "owners": staff if sees_all else [],
        "channels": Identity.objects.values_list("channel", flat=True).distinct().order_by("channel"),
        "member_statuses": MemberStatus.choices,
        "definitions": CustomFieldDefinition.objects.filter(is_active=True),
        "custom_params": {
            k.removeprefix(queries.CUSTOM_FILTER_PREFIX): v
            for k, v in params.items()
            if k.startswith(queries.CUSTOM_FILTER_PREFIX)
        },
        "order_by": params.get("order_by", "-registered_at"),
        # a phone folds the filters away unless one is in use
        "filtered": any(value for key, value in params.items() if key not in ("q", "order_by", "page")),
    }
    return render(request, "customers/list.html", context)


def _render_detail(request: HttpRequest, customer: Customer, *, extra: dict[str, Any] | None = None) -> HttpResponse:
    tabs = customer_tabs(request.user)
    active = next((t for t in tabs if t.key == request.GET.get("tab")), tabs[0])
    context = {
        "nav": "customers",
        "customer": customer,
        "tabs": tabs,
        "active_tab": active,
        **active.context(request, customer),
        **(extra or {}),
    }
    return render(request, "customers/detail.html", context)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible(request, pk))


@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show personal data in plaintext once, in this response only; the reveal is audited."""
    if not request.user.has_perm("customers.reveal_pii"):
        raise PermissionDenied
    customer = _visible(request, pk)
    revealed = services.reveal_personal_data(customer, actor=console_actor(request))
    return _render_detail(request, customer, extra={"revealed": revealed})


@login_required
def customer_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    customer = _visible(request, pk) if pk is not None else None
    needed = "customers.change_customer" if customer else "customers.add_customer"
    if not request.user.has_perm(needed):
        raise PermissionDenied
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            if customer is None:
                customer = services.create_customer(data=form.profile_data(), actor=console_actor(request))
                messages.success(request, _("Customer created."))
            else:
                services.update_customer(customer, data=form.profile_data(), actor=console_actor(request))
                messages.success(request, _("Changes saved."))
            return redirect("customers:detail", pk=customer.pk)
        except DomainError as exc:
            form.add_service_errors(exc)
    return render(request, "customers/edit.html", {"nav": "customers", "form": form, "customer": customer})


@login_required
@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("customers.add_note"):
        raise PermissionDenied
    customer = _visible(request, pk)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        services.add_note(customer, body=form.cleaned_data.get("body", ""), actor=console_actor(request))
        messages.success(request, _("Note added."))
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
    return redirect(f"{customer_url(customer)}?tab=notes")


@login_required
@require_POST
def set_consents(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the consent grid: one checkbox per channel and purpose, checked = granted."""
    if not request.user.has_perm("customers.change_customer"):
        raise PermissionDenied
    customer = _visible(request, pk)
    decisions = [
        {"channel": channel, "purpose": purpose, "granted": f"{channel}:{purpose}" in request.POST}
        for channel in ConsentChannel.values
        for purpose in ConsentPurpose.values
        if f"shown:{channel}:{purpose}" in request.POST
    ]
    try:
        changed = consent.set_consents(
            customer, decisions, actor=console_actor(request), evidence=request.POST.get("evidence", "").strip()
        )
        messages.success(request, _("Consent saved: %(count)d changes.") % {"count": len(changed)})
    except DomainError as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.message}" for e in exc.errors))
    return redirect(f"{customer_url(customer)}?tab=consent")


@login_required
@require_POST
def assign_owner(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("customers.assign_owner"):
        raise PermissionDenied
    customer = _visible(request, pk)
    owner_name = request.POST.get("owner", "")
    owner = get_user_model().objects.filter(username=owner_name, is_active=True).first() if owner_name else None
    if owner_name and owner is None:
        messages.error(request, _("Owner: no active staff user %(name)s.") % {"name": owner_name})
    else:
        services.assign_owner(Customer.objects.filter(pk=customer.pk), owner=owner, actor=console_actor(request))
        messages.success(request, _("Owner updated."))
    return redirect("customers:detail", pk=customer.pk)


def customer_url(customer: Customer) -> str:
    from django.urls import reverse

    return reverse("customers:detail", args=[customer.pk])


@login_required
@permission_required("customers.view_mergesuggestion", raise_exception=True)
def merge_suggestions(request: HttpRequest) -> HttpResponse:
    """The queue of weak matches (namesakes in one city or at one place, shared devices) for a person to decide."""
    status = request.GET.get("status", MergeSuggestion.Status.OPEN)
    suggestions = MergeSuggestion.objects.filter(status=status).select_related(
        "first__store", "second__store", "first__stats", "second__stats"
    )
    page = paginate(suggestions, limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    recent = CustomerMerge.objects.select_related("survivor")[:20]
    context = {
        "nav": "merges",
        "page": page,
        "status": status,
        "statuses": MergeSuggestion.Status.choices,
        "recent_merges": recent,
    }
    return render(request, "customers/merge_suggestions.html", context)


@login_required
@require_POST
@permission_required("customers.change_mergesuggestion", raise_exception=True)
def scan_merges(request: HttpRequest) -> HttpResponse:
    """Look for weak matches among all customers now, in the background (also done daily)."""
    from rapport.customers.tasks import scan_weak_matches

    enqueue(scan_weak_matches)
    messages.success(request, _("Looking for namesakes among all customers; new suggestions appear here."))
    return redirect("customers:merge_suggestions")


@login_required
@require_POST
@permission_required("customers.change_mergesuggestion", raise_exception=True)
def decide_merge(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = get_object_or_404(MergeSuggestion, pk=pk)
    decision = request.POST.get("decision")
    try:
        if decision == "reject":
            merge.decide_suggestion(suggestion, merge=False, actor=console_actor(request))
            messages.success(request, _("Suggestion rejected; the pair will not be suggested again."))
        else:
            survivor = int(request.POST.get("survivor", "0") or 0) or None
            done = merge.decide_suggestion(suggestion, merge=True, actor=console_actor(request), survivor_id=survivor)
            assert done is not None
            messages.success(
                request,
                _("Customer #%(merged)s merged into #%(survivor)s.")
                % {"merged": done.merged_customer_id, "survivor": done.survivor_id},
            )
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
    return redirect("customers:merge_suggestions")


# Settings: stores and custom fields --------------------------------------------------------


@login_required
@permission_required("customers.view_store", raise_exception=True)
def store_list(request: HttpRequest) -> HttpResponse:
    """Stores with how many customers each has; the count stays within the viewer's data scope."""
    counts = dict(
        queries.visible_customers(request.user)
        .order_by()
        .values("store_id")
        .annotate(count=Count("pk"))
        .values_list("store_id", "count")
    )
    stores = [(store, counts.get(store.pk, 0)) for store in Store.objects.all()]
    return render(request, "customers/store_list.html", {"nav": "settings", "section": "stores", "stores": stores})


@login_required
def store_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    store = get_object_or_404(Store, pk=pk) if pk is not None else None
    if not request.user.has_perm("customers.change_store" if store else "customers.add_store"):
        raise PermissionDenied
    form = StoreForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        try:
            if store is None:
                services.create_store(data=form.store_data(), actor=console_actor(request))
                messages.success(request, _("Store created."))
            else:
                services.update_store(store, data=form.store_data(), actor=console_actor(request))
                messages.success(request, _("Changes saved."))
            return redirect("customers:store_list")
        except DomainError as exc:
            form.add_service_errors(exc)
    context = {"nav": "settings", "section": "stores", "form": form, "store": store}
    return render(request, "customers/store_edit.html", context)


@login_required
@require_POST
@permission_required("customers.change_store", raise_exception=True)
def store_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate or reactivate a store. Stores are never deleted: customers and orders keep theirs."""
    store = get_object_or_404(Store, pk=pk)
    active = request.POST.get("active") == "1"
    services.update_store(store, data={"is_active": active}, actor=console_actor(request))
    if active:
        messages.success(request, _("Store %(name)s reactivated.") % {"name": store.name})
    else:
        messages.success(request, _("Store %(name)s deactivated.") % {"name": store.name})
    return redirect("customers:store_list")


@login_required
@permission_required("customers.view_customfielddefinition", raise_exception=True)
def custom_field_list(request: HttpRequest) -> HttpResponse:
    context = {"nav": "settings", "section": "custom_fields", "definitions": CustomFieldDefinition.objects.all()}
    return render(request, "customers/custom_field_list.html", context)


@login_required
def custom_field_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    definition = get_object_or_404(CustomFieldDefinition, key=key) if key is not None else None
    needed = "customers.change_customfielddefinition" if definition else "customers.add_customfielddefinition"
    if not request.user.has_perm(needed):
        raise PermissionDenied
    form = CustomFieldForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_custom_field(data=form.definition_data(), actor=console_actor(request), instance=definition)
            messages.success(request, _("Custom field saved."))
            return redirect("customers:custom_field_list")
        except DomainError as exc:
            form.add_service_errors(exc)
    context = {"nav": "settings", "section": "custom_fields", "form": form, "definition": definition}
    return render(request, "customers/custom_field_edit.html", context)
