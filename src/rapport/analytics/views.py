"""Console pages for analytics: the KPI dashboard, the loyalty page (members by level, points,
stored value), the custom report builder with saved reports and exports, and the model page (fits,
quality, starting the metrics run).

Views only translate between HTTP and :mod:`rapport.analytics.kpis`, ``loyalty_kpis``,
``reports`` and ``metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.analytics import kpis, loyalty_kpis, metrics, reports, staff_performance
from rapport.analytics.api import export_response
from rapport.analytics.charts import embed, figure, month_axis
from rapport.analytics.model_cards import card, recommendation_chart
from rapport.analytics.models import ModelFit, SavedReport
from rapport.commerce.models import Order
from rapport.core.errors import DomainError, InvalidInput
from rapport.core.requests import console_actor, error_text
from rapport.customers.models import Store
from rapport.recommendations.queries import latest_run as latest_recommendation_run

# Dashboard --------------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> tuple[kpis.Filters, list[Any]]:
    """The filter form's range and store; the defaults and the errors when the form is bad."""
    try:
        return kpis.Filters.parse(request.GET, today=timezone.localdate(timezone=kpis.shop_zone())), []
    except InvalidInput as exc:
        return kpis.Filters.parse({}, today=timezone.localdate(timezone=kpis.shop_zone())), exc.errors


def _filtered_page(
    request: HttpRequest,
    section: str,
    figures: Callable[[kpis.Filters], dict[str, Any]],
    charts: Callable[[dict[str, Any]], dict[str, Any]],
) -> HttpResponse:
    """A page of figures for the filter form's range and store (``analytics/<section>.html``)."""
    filters, errors = _filters(request)
    data = figures(filters)
    context = {
        "nav": "analytics",
        "section": section,
        "filters": filters,
        "filters_query": urlencode(filters.as_params()),
        "errors": errors,
        "stores": Store.objects.filter(is_active=True),
        "data": data,
        "charts": charts(data),
    }
    return render(request, f"analytics/{section}.html", context)


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    return _filtered_page(request, "dashboard", kpis.dashboard, _dashboard_charts)


def _dashboard_charts(data: dict[str, Any]) -> dict[str, Any]:
    months = [row["month"] for row in data["monthly"]]
    customers = figure(_("Active customers: new and returning"), barmode="stack")
    customers.add_trace(go.Bar(x=months, y=[r["new"] for r in data["monthly"]], name=_("New")))
    customers.add_trace(go.Bar(x=months, y=[r["returning"] for r in data["monthly"]], name=_("Returning")))

    revenue = figure(_("Revenue and average order value"))
    revenue.add_trace(go.Bar(x=months, y=[float(r["revenue"]) for r in data["monthly"]], name=_("Revenue")))
    revenue.add_trace(
        go.Scatter(
            x=months,
            y=[float(r["average_order_value"]) for r in data["monthly"]],
            name=_("AOV"),
            yaxis="y2",
            mode="lines+markers",
        )
    )
    revenue.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})
    month_axis(customers)
    month_axis(revenue)

    cohorts = data["cohorts"]
    heat = figure(_("Cohort retention (share of each first-order month who ordered k months later)"))
    heat.add_trace(
        go.Heatmap(
            z=cohorts["retention"],
            x=[str(k) for k in cohorts["offsets"]],
            y=[f"{c} ({n})" for c, n in zip(cohorts["cohorts"], cohorts["sizes"], strict=True)],
            colorscale="Blues",
            zmin=0,
            zmax=1,
            texttemplate="%{z:.0%}",
            hovertemplate=_("cohort %{y}, month +%{x}: %{z:.1%}") + "<extra></extra>",
        )
    )
    heat.update_layout(height=420, yaxis={"autorange": "reversed"}, xaxis={"title": _("Months since first order")})

    stores = figure(_("Revenue by store"))
    stores.add_trace(
        go.Bar(
            y=[r["store_name"] for r in data["stores"]],
            x=[float(r["revenue"]) for r in data["stores"]],
            orientation="h",
        )
    )
    stores.update_layout(yaxis={"autorange": "reversed"})

    channels = figure(_("Channel contribution (revenue)"))
    channels.add_trace(
        go.Pie(
            labels=[r["channel"] for r in data["channels"]],
            values=[float(r["revenue"]) for r in data["channels"]],
            hole=0.45,
        )
    )

    categories = figure(_("Category preference (revenue)"))
    categories.add_trace(
        go.Bar(x=[r["category"] for r in data["categories"]], y=[float(r["revenue"]) for r in data["categories"]])
    )

    mix = figure(_("Customers by lifecycle stage and RFM segment (today)"))
    mix.add_trace(
        go.Bar(
            x=[r["label"] for r in data["customer_mix"]["lifecycle"]],
            y=[r["customers"] for r in data["customer_mix"]["lifecycle"]],
            name=_("Lifecycle"),
        )
    )
    mix.add_trace(
        go.Bar(
            x=[r["label"] for r in data["customer_mix"]["rfm"]],
            y=[r["customers"] for r in data["customer_mix"]["rfm"]],
            name=_("RFM segment"),
            xaxis="x2",
            yaxis="y2",
        )
    )
    mix.update_layout(grid={"rows": 1, "columns": 2, "pattern": "independent"}, showlegend=False)
    return {
        "customers": embed(customers, "chart-customers"),
        "revenue": embed(revenue, "chart-revenue"),
        "cohorts": embed(heat, "chart-cohorts"),
        "stores": embed(stores, "chart-stores"),
        "channels": embed(channels, "chart-channels"),
        "categories": embed(categories, "chart-categories"),
        "mix": embed(mix, "chart-mix"),
    }


# Staff performance ------------------------------------------------------------------------------


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def staff(request: HttpRequest) -> HttpResponse:
    """Shopping-guide performance (导购业绩): the leaderboard per store and the figures per staff member."""
    return _filtered_page(request, "staff", staff_performance.staff_performance, lambda data: {})


# Loyalty ----------------------------------------------------------------------------------------


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def loyalty(request: HttpRequest) -> HttpResponse:
    return _filtered_page(request, "loyalty", loyalty_kpis.loyalty_dashboard, _loyalty_charts)


def _loyalty_charts(data: dict[str, Any]) -> dict[str, Any]:
    rows = data["by_level"]["levels"]
    names = [r["level"] for r in rows]
    revenue = figure(_("Revenue and ARPU by level"))
    revenue.add_trace(go.Bar(x=names, y=[float(r["revenue"]) for r in rows], name=_("Revenue")))
    revenue.add_trace(
        go.Scatter(x=names, y=[float(r["arpu"]) for r in rows], name=_("ARPU"), yaxis="y2", mode="lines+markers")
    )
    revenue.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})

    members = figure(_("Members and active members by level"), barmode="group")
    members.add_trace(go.Bar(x=names, y=[r["members"] for r in rows], name=_("Members")))
    members.add_trace(go.Bar(x=names, y=[r["active_members"] for r in rows], name=_("Active in the range")))

    points_rows = data["points"]["monthly"]
    months = [r["month"] for r in points_rows]
    points = figure(_("Points issued and used per month"), barmode="relative")
    points.add_trace(go.Bar(x=months, y=[r["issued"] for r in points_rows], name=_("Issued")))
    points.add_trace(go.Bar(x=months, y=[-r["net_redeemed"] for r in points_rows], name=_("Redeemed")))
    points.add_trace(go.Bar(x=months, y=[-r["expired"] for r in points_rows], name=_("Expired")))
    points.add_trace(go.Bar(x=months, y=[-r["reversed"] for r in points_rows], name=_("Reversed")))
    points.add_trace(go.Bar(x=months, y=[r["adjusted"] for r in points_rows], name=_("Adjusted")))

    value_rows = data["stored_value"]["monthly"]
    stored = figure(_("Stored value in and out per month"), barmode="relative")
    flows = [
        ("top_ups", 1, _("Top-ups")),
        ("bonus_granted", 1, _("Bonus granted")),
        ("spent", -1, _("Spent")),
        ("withdrawn", -1, _("Refunded to customers")),
        ("forfeited", -1, _("Bonus forfeited")),
    ]
    for key, sign, label in flows:
        stored.add_trace(go.Bar(x=months, y=[sign * float(r[key]) for r in value_rows], name=label))
    month_axis(points)
    month_axis(stored)
    return {
        "level_revenue": embed(revenue, "chart-level-revenue"),
        "level_members": embed(members, "chart-level-members"),
        "points": embed(points, "chart-points"),
        "stored_value": embed(stored, "chart-stored-value"),
    }


# Report builder ---------------------------------------------------------------------------------


def definition_from_query(params: QueryDict) -> dict[str, Any]:
    """The builder form's fields (GET) as a report definition."""
    filters: dict[str, Any] = {key: params.get(key, "") for key in ("start", "end", "store")}
    for key in reports.LIST_FILTERS:
        filters[key] = [v for v in params.getlist(key) if v]
    limit = params.get("limit", "500")
    return {
        "dimensions": [d for d in params.getlist("dimensions") if d],
        "measures": [m for m in params.getlist("measures") if m],
        "filters": filters,
        "chart": params.get("chart", "table"),
        "limit": int(limit) if limit.isdigit() else limit,
        "secondary": [m for m in params.getlist("secondary") if m],
        "compare": params.get("compare", ""),
    }


def _query_from_definition(definition: dict[str, Any]) -> str:
    query = QueryDict(mutable=True)
    query.setlist("dimensions", definition["dimensions"])
    query.setlist("measures", definition["measures"])
    for key, value in definition["filters"].items():
        if isinstance(value, list):
            query.setlist(key, value)
        elif value:
            query[key] = value
    query["chart"] = definition["chart"]
    query["limit"] = str(definition["limit"])
    query.setlist("secondary", definition.get("secondary", []))
    if definition.get("compare"):
        query["compare"] = definition["compare"]
    return query.urlencode()


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def report_builder(request: HttpRequest) -> HttpResponse:
    saved = SavedReport.objects.filter(owner_id=request.user.pk)
    context: dict[str, Any] = {
        "nav": "analytics",
        "section": "reports",
        "saved": saved,
        "catalogue": reports.catalogue(),
    }
    context["stores"] = Store.objects.filter(is_active=True)
    context["channels"] = list(Order.objects.order_by("channel").values_list("channel", flat=True).distinct()[:100])
    report_id = request.GET.get("report")
    if report_id and report_id.isdigit():
        report = saved.filter(pk=int(report_id)).first()
        if report is not None:
            return redirect(
                f"{reverse('analytics:reports')}?{_query_from_definition(report.definition)}&open={report.pk}"
            )
    definition = definition_from_query(request.GET) if "measures" in request.GET else None
    context["definition"] = definition or {
        "dimensions": ["month"],
        "measures": ["revenue", "orders"],
        "filters": {},
        "chart": "bar",
        "limit": 500,
    }
    context["open_report"] = (
        saved.filter(pk=request.GET.get("open") or 0).first() if (request.GET.get("open") or "").isdigit() else None
    )
    if definition is not None:
        try:
            result = reports.run(definition)
        except InvalidInput as exc:
            context["errors"] = exc.errors
        else:
            export = request.GET.get("export")
            if export in ("csv", "xlsx"):
                return export_response(
                    context["open_report"].name if context["open_report"] else "report", result, export
                )
            context["result"] = result
            context["definition"] = result.definition
            context["query"] = _query_from_definition(result.definition)
            if result.definition["chart"] != "table":
                context["chart"] = embed(reports.chart(result), "report-chart")
    return render(request, "analytics/reports.html", context)


@login_required
@permission_required("analytics.add_savedreport", raise_exception=True)
@require_POST
def report_save(request: HttpRequest) -> HttpResponse:
    definition = definition_from_query(QueryDict(request.POST.get("query", "")))
    existing = None
    overwrite = request.POST.get("overwrite", "")
    if overwrite.isdigit():
        existing = SavedReport.objects.filter(owner_id=request.user.pk, pk=int(overwrite)).first()
    try:
        report = reports.save_report(
            owner=request.user,
            name=request.POST.get("name", ""),
            definition=definition,
            actor=console_actor(request),
            report=existing,
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(f"{reverse('analytics:reports')}?{request.POST.get('query', '')}")
    messages.success(request, _("Report “%(name)s” saved.") % {"name": report.name})
    return redirect(f"{reverse('analytics:reports')}?report={report.pk}")


@login_required
@permission_required("analytics.delete_savedreport", raise_exception=True)
@require_POST
def report_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = reports.owned_report(request.user, pk)
        reports.delete_report(report, actor=console_actor(request))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Report “%(name)s” deleted.") % {"name": report.name})
    return redirect("analytics:reports")


# Models -----------------------------------------------------------------------------------------


@login_required
@permission_required("analytics.view_modelfit", raise_exception=True)
def models_page(request: HttpRequest) -> HttpResponse:
    latest = [ModelFit.objects.filter(kind=kind).first() for kind in ModelFit.Kind.values]
    fits = [card(fit) for fit in latest if fit is not None]
    run = latest_recommendation_run()
    context = {
        "nav": "analytics",
        "section": "models",
        "fits": fits,
        "recommendation_run": run,
        "recommendation_chart": recommendation_chart(run.backtest) if run and run.backtest else None,
    }
    return render(request, "analytics/models.html", context)


@login_required
@permission_required("analytics.change_customermetrics", raise_exception=True)
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    result = metrics.recompute_all()
    messages.success(
        request,
        _("Metrics recomputed for %(customers)d customers (%(buyers)d with orders) in %(seconds).1f s.")
        % {"customers": result.customers, "buyers": result.buyers, "seconds": result.seconds},
    )
    return redirect("analytics:models")
