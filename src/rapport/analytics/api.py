"""``/api/v1`` analytics: customer metrics, KPIs (loyalty figures included), model fits, the metrics
run and the report builder. Handlers parse, call one service and shape the answer.

Customers outside the caller's data scope answer 404, as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, P, Query, QueryEx, Router, Status

from rapport.accounts.scopes import ANALYTICS_READ, ANALYTICS_WRITE
from rapport.analytics import kpis, loyalty_kpis, metrics, reports, staff_performance
from rapport.analytics.models import CustomerMetrics, ModelFit, SavedReport
from rapport.analytics.responses import (
    AnalyticsReportOut,
    DashboardOut,
    FitOut,
    GetReportOut,
    LoyaltyOut,
    MetricsOut,
    RecomputeOut,
    ReportPage,
    RunReportOut,
    StaffPerformanceOut,
)
from rapport.core.api import TABLE_FILE, Strict, actor_for, require
from rapport.core.listing import page_body, paginate
from rapport.customers import queries as customer_queries
from rapport.customers.services import get_customer

router = Router(tags=["analytics"], exclude_unset=True)

VIEW_METRICS = "analytics.view_customermetrics"
DASHBOARD = "analytics.view_dashboard"
RECOMPUTE = "analytics.change_customermetrics"
VIEW_FITS = "analytics.view_modelfit"
VIEW_REPORTS = "analytics.view_savedreport"
ADD_REPORT = "analytics.add_savedreport"
CHANGE_REPORT = "analytics.change_savedreport"
DELETE_REPORT = "analytics.delete_savedreport"


class ReportDefinition(Strict):
    dimensions: list[str] = Field(default_factory=list, description="0–2 of GET /analytics/reports/catalogue")
    measures: list[str] = Field(default_factory=list, description="1–6 measures")
    filters: dict[str, Any] = Field(
        default_factory=dict, description="start, end, store, channels, lifecycle_stages, rfm_segments, value_tiers"
    )
    chart: Literal["table", "bar", "line", "pie"] = "table"
    limit: int = 500


class SavedReportIn(Strict):
    name: str
    definition: ReportDefinition


class DashboardQuery(Strict):
    start: str = Field("", description="YYYY-MM-DD, default 364 days before the end")
    end: str = Field("", description="YYYY-MM-DD, default today")
    store: str = Field("", description="a store code, default every store")


def metrics_body(row: CustomerMetrics) -> dict[str, Any]:
    return {
        "customer": row.customer_id,
        "computed_at": row.computed_at,
        "orders": row.orders,
        "purchase_days": row.purchase_days,
        "first_order_at": row.first_order_at,
        "last_order_at": row.last_order_at,
        "recency_days": row.recency_days,
        "monetary": str(row.monetary),
        "average_order_value": str(row.average_order_value),
        "r_score": row.r_score,
        "f_score": row.f_score,
        "m_score": row.m_score,
        "rfm_segment": row.rfm_segment,
        "lifecycle_stage": row.lifecycle_stage,
        "value_tier": row.value_tier,
        "preferred_category": row.preferred_category.code if row.preferred_category else None,
        "discount_share": row.discount_share,
        "price_sensitivity": row.price_sensitivity,
        "clv_12m": None if row.clv_12m is None else str(row.clv_12m),
        "p_alive": row.p_alive,
        "expected_purchases_90d": row.expected_purchases_90d,
        "expected_next_order_on": row.expected_next_order_on,
        "churn_probability": row.churn_probability,
    }


def fit_body(fit: ModelFit) -> dict[str, Any]:
    return {
        "kind": fit.kind,
        "params": fit.params,
        "quality": fit.quality,
        "customers": fit.customers,
        "fitted_at": fit.fitted_at,
    }


def report_body(report: SavedReport) -> dict[str, Any]:
    return {
        "id": report.pk,
        "name": report.name,
        "definition": report.definition,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
    }


# Metrics and models -----------------------------------------------------------------------------


@router.get(
    "/analytics/customers/{customer_id}/metrics",
    response={200: MetricsOut},
    summary="A customer's RFM, lifecycle, CLV and churn scores",
)
def customer_metrics(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require(request, ANALYTICS_READ, VIEW_METRICS)
    customer = get_customer(customer_queries.visible_customers(request.user), customer_id)
    row = CustomerMetrics.objects.filter(customer=customer).select_related("preferred_category").first()
    if row is None:
        return {"customer": customer.pk, "computed_at": None}
    return metrics_body(row)


@router.get(
    "/analytics/models",
    response={200: list[FitOut]},
    summary="The latest fit of each model (BG/NBD, Gamma-Gamma, churn, RFM)",
)
def model_fits(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, ANALYTICS_READ, VIEW_FITS)
    latest = [ModelFit.objects.filter(kind=kind).first() for kind in ModelFit.Kind.values]
    return [fit_body(fit) for fit in latest if fit is not None]


@router.post(
    "/analytics/metrics/recompute",
    response={200: RecomputeOut},
    summary="Refit the models and recompute every customer's metrics now",
)
def recompute(request: HttpRequest) -> dict[str, Any]:
    require(request, ANALYTICS_WRITE, RECOMPUTE)
    result = metrics.recompute_all()
    return {"customers": result.customers, "buyers": result.buyers, "seconds": round(result.seconds, 2)}


@router.get(
    "/analytics/dashboard",
    response={200: DashboardOut},
    summary="KPIs, monthly trends, cohorts and breakdowns for a date range and store",
)
def dashboard(request: HttpRequest, params: Query[DashboardQuery]) -> dict[str, Any]:
    require(request, ANALYTICS_READ, DASHBOARD)
    filters = kpis.Filters.parse(params.model_dump(), today=timezone.localdate(timezone=kpis.shop_zone()))
    return kpis.dashboard(filters)


@router.get(
    "/analytics/loyalty",
    response={200: LoyaltyOut},
    summary="Member performance by loyalty level, points and stored-value analysis for a date range and store",
)
def loyalty(request: HttpRequest, params: Query[DashboardQuery]) -> dict[str, Any]:
    require(request, ANALYTICS_READ, DASHBOARD)
    filters = kpis.Filters.parse(params.model_dump(), today=timezone.localdate(timezone=kpis.shop_zone()))
    return loyalty_kpis.loyalty_dashboard(filters)


@router.get(
    "/analytics/staff-performance",
    response={200: StaffPerformanceOut},
    summary="Shopping-guide performance: orders attributed to staff (owner and contact rules), per store",
)
def staff_performance_figures(request: HttpRequest, params: Query[DashboardQuery]) -> dict[str, Any]:
    require(request, ANALYTICS_READ, DASHBOARD)
    filters = kpis.Filters.parse(params.model_dump(), today=timezone.localdate(timezone=kpis.shop_zone()))
    return staff_performance.staff_performance(filters)


# Reports ----------------------------------------------------------------------------------------


@router.get(
    "/analytics/reports/catalogue",
    response={200: dict[str, Any]},
    summary="Dimensions, measures, charts and filter choices",
)
def report_catalogue(request: HttpRequest) -> dict[str, Any]:
    require(request, ANALYTICS_READ, DASHBOARD)
    return reports.catalogue()


@router.post("/analytics/reports/run", response={200: RunReportOut}, summary="Run a report definition (unsaved)")
def run_report(request: HttpRequest, payload: ReportDefinition) -> dict[str, Any]:
    require(request, ANALYTICS_READ, DASHBOARD)
    return reports.run(payload.model_dump()).as_json()


@router.get("/analytics/reports", response={200: ReportPage}, summary="Your saved reports")
def list_reports(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(request, ANALYTICS_READ, VIEW_REPORTS)
    page = paginate(SavedReport.objects.filter(owner_id=request.user.pk), limit=limit, offset=offset)
    return page_body(page, [report_body(r) for r in page.items])


@router.post("/analytics/reports", response={201: AnalyticsReportOut}, summary="Save a report")
def create_report(request: HttpRequest, payload: SavedReportIn) -> Status[dict[str, Any]]:
    require(request, ANALYTICS_WRITE, ADD_REPORT)
    report = reports.save_report(
        owner=request.user, name=payload.name, definition=payload.definition.model_dump(), actor=actor_for(request)
    )
    return Status(201, report_body(report))


@router.get(
    "/analytics/reports/{report_id}", response={200: GetReportOut}, summary="One saved report with its current result"
)
def get_report(request: HttpRequest, report_id: int) -> dict[str, Any]:
    require(request, ANALYTICS_READ, VIEW_REPORTS)
    report = reports.owned_report(request.user, report_id)
    return {**report_body(report), "result": reports.run(report.definition).as_json()}


@router.put(
    "/analytics/reports/{report_id}", response={200: AnalyticsReportOut}, summary="Rename or redefine a saved report"
)
def update_report(request: HttpRequest, report_id: int, payload: SavedReportIn) -> dict[str, Any]:
    require(request, ANALYTICS_WRITE, CHANGE_REPORT)
    report = reports.save_report(
        owner=request.user,
        name=payload.name,
        definition=payload.definition.model_dump(),
        actor=actor_for(request),
        report=reports.owned_report(request.user, report_id),
    )
    return report_body(report)


@router.delete("/analytics/reports/{report_id}", response={204: None}, summary="Delete a saved report")
def delete_report(request: HttpRequest, report_id: int) -> Status[None]:
    require(request, ANALYTICS_WRITE, DELETE_REPORT)
    reports.delete_report(reports.owned_report(request.user, report_id), actor=actor_for(request))
    return Status(204, None)


@router.get(
    "/analytics/reports/{report_id}/export", summary="A saved report's result as CSV or xlsx", openapi_extra=TABLE_FILE
)
def export_report(
    request: HttpRequest, report_id: int, file_format: QueryEx[Literal["csv", "xlsx"], P(alias="format")] = "csv"
) -> HttpResponse:
    require(request, ANALYTICS_READ, VIEW_REPORTS)
    report = reports.owned_report(request.user, report_id)
    return export_response(report.name, reports.run(report.definition), file_format)


def export_response(name: str, result: reports.Result, file_format: str) -> HttpResponse:
    """The exported file, shared by the API and the console."""
    stem = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in name).strip("-") or "report"
    filename = f"{stem}-{dt.date.today():%Y%m%d}.{file_format}"
    if file_format == "xlsx":
        body = reports.to_xlsx(result, title=name)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = reports.to_csv(result)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
