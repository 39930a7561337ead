"""Console stock page: levels by product and location with filters, a CSV export, and the ledger."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from rapport.commerce.queries import categories, product_by_sku
from rapport.core.errors import DomainError, FieldError, InvalidInput
from rapport.core.listing import filled_params, order, page_offset, paginate
from rapport.core.requests import console_actor
from rapport.inventory import queries, services
from rapport.inventory.charts import forecast_svg
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
    "abc",
    "xyz",
    "safety_stock",
    "reorder_point",
    "days_of_cover",
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
        "statuses": [
            ("in_stock", _("In stock")),
            ("out_of_stock", _("Out of stock")),
            ("low", _("At or below reorder point")),
            ("overstock", _("Overstock")),
        ],
        "classes": queries.CLASSES,
        "variability": queries.VARIABILITY,
    }
    return render(request, "inventory/stock_list.html", context)


def _plan_value(item: StockItem, field: str) -> Any:
    plan = getattr(item, "plan", None)  # a missing reverse one-to-one raises an AttributeError
    return "" if plan is None else getattr(plan, field)


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
                item.abc or "",
                item.xyz or "",
                _plan_value(item, "safety_stock"),
                _plan_value(item, "reorder_point"),
                "" if item.days_of_cover is None else round(item.days_of_cover, 1),
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


FORECAST_SCOPES = ("shop", "category", "store", "product")
METHODS = {"ets": _lazy("ETS"), "croston": _lazy("Croston"), "tsb": _lazy("TSB"), "mean": _lazy("Recent average")}
DEMAND_PATTERNS = {
    "smooth": _lazy("smooth"),
    "erratic": _lazy("erratic"),
    "intermittent": _lazy("intermittent"),
    "lumpy": _lazy("lumpy"),
    "inactive": _lazy("no sales"),
}


def _forecast_target(params: dict[str, str]) -> tuple[str, int, str, list[FieldError]]:
    """The series asked for: (scope, key, label, errors) from scope + category/store/sku."""
    scope = params.get("scope", "shop")
    if scope not in FORECAST_SCOPES:
        return "shop", 0, "", [FieldError("scope", "invalid", f"one of: {', '.join(FORECAST_SCOPES)}")]
    if scope == "category":
        found = categories().filter(code=params.get("category", "")).first()
        if found is None:
            return scope, 0, "", [FieldError("category", "not_found", _("Choose a category."))]
        return scope, found.pk, found.name, []
    if scope == "store":
        location = queries.locations().exclude(store=None).filter(code=params.get("store", "")).first()
        if location is None or location.store_id is None:
            return scope, 0, "", [FieldError("store", "not_found", _("Choose a store."))]
        return scope, location.store_id, location.name, []
    if scope == "product":
        product = product_by_sku(params.get("sku", "").strip())
        if product is None:
            return scope, 0, "", [FieldError("sku", "not_found", _("No product with this SKU."))]
        return scope, product.pk, str(product), []
    return "shop", 0, _("Whole shop"), []


@login_required
@permission_required("inventory.view_stockitem", raise_exception=True)
def forecast_page(request: HttpRequest) -> HttpResponse:
    params = filled_params(request.GET)
    scope, key, label, errors = _forecast_target(params)
    frequency = params.get("frequency", "week")
    if frequency not in ("week", "day"):
        errors.append(FieldError("frequency", "invalid", "one of: week, day"))
        frequency = "week"
    found = None if errors else queries.forecast(scope, key, frequency)
    periods: list[dict[str, Any]] = []
    chart = None
    if found is not None:
        step = 7 if frequency == "week" else 1
        values = found.values
        chart = forecast_svg(
            history=found.history,
            first_period=found.first_period,
            period_days=step,
            title=_("Sales forecast: %(series)s") % {"series": label},
            **{name: values[name] for name in ("mean", "lo80", "hi80", "lo95", "hi95")},
        )
        periods = [
            {
                "start": found.first_period + dt.timedelta(days=step * i),
                **{name: values[name][i] for name in ("mean", "lo80", "hi80", "lo95", "hi95")},
            }
            for i in range(len(values["mean"]))
        ]
    context = {
        "nav": "stock",
        "params": {"scope": scope, "frequency": frequency, **params},
        "errors": errors,
        "label": label,
        "forecast": found,
        "method": METHODS.get(found.method, found.method) if found else "",
        "pattern": DEMAND_PATTERNS.get(found.demand_class, found.demand_class) if found else "",
        "chart": chart,
        "periods": periods,
        "run": queries.latest_forecast_run(),
        "categories": categories(),
        "stores": queries.locations().exclude(store=None),
        "scopes": [
            ("shop", _("Whole shop")),
            ("category", _("Category")),
            ("store", _("Store")),
            ("product", _("Product")),
        ],
    }
    return render(request, "inventory/forecast.html", context)


@login_required
@permission_required("inventory.view_stockitem", raise_exception=True)
def class_matrix(request: HttpRequest) -> HttpResponse:
    cells = queries.class_matrix()
    rows = [(abc, [(xyz, cells[(abc, xyz)]) for xyz in queries.VARIABILITY]) for abc in queries.CLASSES]
    return render(request, "inventory/classes.html", {"nav": "stock", "rows": rows, "columns": queries.VARIABILITY})
