"""Console pages for orders: the list with filters and the order detail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from rapport.commerce.models import OrderStatus
from rapport.commerce.queries import ORDERINGS, filter_orders, visible_orders
from rapport.core import pii
from rapport.core.errors import InvalidInput
from rapport.core.listing import filled_params, order, page_offset, paginate
from rapport.customers.models import Store

PAGE_SIZE = 25


@login_required
@permission_required("commerce.view_order", raise_exception=True)
def order_list(request: HttpRequest) -> HttpResponse:
    params = filled_params(request.GET)
    page, errors = None, []
    try:
        orders = filter_orders(visible_orders(request.user), params)
        orders = order(orders, params.get("order_by"), ORDERINGS, "-placed_at")
        page = paginate(orders, limit=PAGE_SIZE, offset=page_offset(params.get("page"), PAGE_SIZE))
    except InvalidInput as exc:
        errors = exc.errors
    context: dict[str, Any] = {
        "nav": "orders",
        "page": page,
        "errors": errors,
        "params": params,
        "stores": Store.objects.all(),
        "statuses": OrderStatus.choices,
    }
    return render(request, "commerce/order_list.html", context)


@login_required
@permission_required("commerce.view_order", raise_exception=True)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = visible_orders(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such order, or not one of yours."))
    # masked as customers' address lines are; the whole text is in the customer's data export
    shipping_address = pii.mask_text(found.shipping_address, keep_start=6)
    return render(
        request,
        "commerce/order_detail.html",
        {"nav": "orders", "order": found, "shipping_address": shipping_address},
    )
