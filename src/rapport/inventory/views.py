"""Console stock page: levels by product and location with filters, a CSV export, and the ledger."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.commerce.queries import categories
from rapport.core.errors import DomainError, InvalidInput
from rapport.core.listing import filled_params, order, page_offset, paginate
from rapport.core.requests import console_actor
from rapport.inventory import queries, services
from rapport.inventory.models import MovementKind, StockItem

PAGE_SIZE = 50
EXPORT_COLUMNS = (
    "sku",
    "name",
    "brand",
    "category",
    "location",
    "on_hand",
    "lead_time_days",
    "reorder_quantity",
    "unit_cost",
)


def _filters(request: HttpRequest) -> tuple[dict[str, str], Any, list[Any]]:
    params = filled_params(request.GET)
    try:
        items = order(queries.stock_items(params), params.get("order_by"), queries.ORDERINGS, "sku")
    except InvalidInput as exc:
        return params, None, exc.errors
    return params, items, []


@login_required
@permission_required("inventory.view_stockitem", raise_exception=True)
def stock_list(request: HttpRequest) -> HttpResponse:
    params, items, errors = _filters(request)
    page = (
        None if items is None else paginate(items, limit=PAGE_SIZE, offset=page_offset(params.get("page"), PAGE_SIZE))
    )
    context: dict[str, Any] = {
        "nav": "stock",
        "page": page,
        "errors": errors,
        "params": params,
        "locations": queries.locations(),
        "categories": categories(),
        "statuses": [("in_stock", _("In stock")), ("out_of_stock", _("Out of stock"))],
    }
    return render(request, "inventory/stock_list.html", context)


def _csv_rows(items: Any) -> Iterator[str]:
    class Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Line())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    for item in items.iterator(chunk_size=2000):
        product = item.product
        yield writer.writerow(
            [
                product.sku,
                product.name,
                product.brand,
                product.category.code if product.category else "",
                item.location.code,
                item.on_hand,
                item.lead_time_days,
                item.reorder_quantity,
                "" if item.unit_cost is None else item.unit_cost,
            ]
        )


@login_required
@permission_required("inventory.view_stockitem", raise_exception=True)
def stock_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _params, items, errors = _filters(request)
    if items is None:
        return HttpResponse("; ".join(f"{e.field}: {e.message}" for e in errors), status=422)
    response = StreamingHttpResponse(_csv_rows(items), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="stock.csv"'
    return response


@login_required
@permission_required("inventory.view_stockitem", raise_exception=True)
def stock_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(StockItem.objects.select_related("product", "location"), pk=pk)
    ledger = paginate(queries.movements(item), limit=PAGE_SIZE, offset=page_offset(request.GET.get("page"), PAGE_SIZE))
    context = {
        "nav": "stock",
        "item": item,
        "page": ledger,
        "kinds": [(k, MovementKind(k).label) for k in services.MANUAL_KINDS],
    }
    return render(request, "inventory/stock_detail.html", context)


@login_required
@permission_required("inventory.add_stockmovement", raise_exception=True)
@require_POST
def stock_move(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(StockItem.objects.select_related("product", "location"), pk=pk)
    raw = request.POST.get("quantity", "").strip()
    data: dict[str, Any] = {
        "kind": request.POST.get("kind", ""),
        "quantity": int(raw) if raw.lstrip("-").isdigit() else raw,
        "note": request.POST.get("note", ""),
    }
    try:
        services.record_movement(item.product, item.location, data=data, actor=console_actor(request))
    except DomainError as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.message}" for e in exc.errors))
    else:
        messages.success(request, _("Stock movement recorded."))
    return redirect("inventory:detail", pk=item.pk)
