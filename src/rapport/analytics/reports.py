"""The custom report builder: dimensions × measures × filters → a table or a chart.

A report definition is JSON::

    {"dimensions": ["month", "channel"], "measures": ["revenue", "orders"],
     "filters": {"start": "2025-01-01", "end": "2025-12-31", "store": "sh-01",
                 "channels": ["web"], "lifecycle_stages": ["repeat"], "rfm_segments": []},
     "chart": "bar", "limit": 500}

It compiles to one ``GROUP BY`` over orders, or over order lines when a product-level dimension
or measure is chosen (category, product, units). :func:`clean_definition` checks it and names each
bad part; :func:`run` executes it; :func:`to_csv` / :func:`to_xlsx` export the result; saved
reports belong to the staff member who saved them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Expression, F, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.analytics.kpis import MONEY, ZERO, Filters, shop_zone
from rapport.analytics.models import LifecycleStage, RfmSegment, SavedReport, ValueTier
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.queries import net_revenue
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound
from rapport.core.tabular import csv_bytes, xlsx_bytes

MAX_ROWS = 5000
CHARTS = ("table", "bar", "line", "pie")
COMPARISONS: dict[str, Any] = {
    "": "",
    "previous_period": _("previous period"),
    "previous_year": _("same period last year"),
}
TIME_DIMENSIONS = ("month", "week", "day")


@dataclass(frozen=True)
class Dimension:
    label: str | Promise
    order_path: Any  # an expression over orders (F / Trunc), or None when only lines have it
    line_path: Any  # the same over order lines


def _on_lines(path: str) -> str:
    return f"order__{path}"


def _dimension(label: str | Promise, path: str) -> Dimension:
    return Dimension(label, F(path), F(_on_lines(path)))


DIMENSIONS: dict[str, Dimension] = {
    "month": Dimension(
        _("Month"), TruncMonth("placed_at", tzinfo=shop_zone()), TruncMonth("order__placed_at", tzinfo=shop_zone())
    ),
    "week": Dimension(
        _("Week"), TruncWeek("placed_at", tzinfo=shop_zone()), TruncWeek("order__placed_at", tzinfo=shop_zone())
    ),
    "day": Dimension(
        _("Day"), TruncDate("placed_at", tzinfo=shop_zone()), TruncDate("order__placed_at", tzinfo=shop_zone())
    ),
    "store": _dimension(_("Store"), "store__name"),
    "channel": _dimension(_("Order channel"), "channel"),
    "status": _dimension(_("Order status"), "status"),
    "owner": _dimension(_("Owner"), "customer__owner__username"),
    "city": _dimension(_("City"), "customer__city"),
    "registration_channel": _dimension(_("Registration channel"), "customer__registration_channel"),
    "lifecycle_stage": _dimension(_("Lifecycle stage"), "customer__metrics__lifecycle_stage"),
    "rfm_segment": _dimension(_("RFM segment"), "customer__metrics__rfm_segment"),
    "value_tier": _dimension(_("Value tier"), "customer__metrics__value_tier"),
    "category": Dimension(_("Category"), None, F("product__category__name")),
    "product": Dimension(_("Product"), None, F("name")),
}

MEASURES: dict[str, str | Promise] = {
    "revenue": _("Revenue"),
    "orders": _("Orders"),
    "customers": _("Customers"),
    "average_order_value": _("Average order value"),
    "revenue_per_customer": _("Revenue per customer"),
    "units": _("Units"),
    "discount": _("Discount"),
    "refunded": _("Refunded"),
}
LINE_ONLY_MEASURES = {"units"}
ORDER_ONLY_MEASURES = {"discount", "refunded"}

LIST_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "channels": ("channel", None),
    "lifecycle_stages": ("customer__metrics__lifecycle_stage", tuple(LifecycleStage.values)),
    "rfm_segments": ("customer__metrics__rfm_segment", tuple(RfmSegment.values)),
    "value_tiers": ("customer__metrics__value_tier", tuple(ValueTier.values)),
}


def catalogue() -> dict[str, Any]:
    """What the builder offers, for the page and the API."""
    return {
        "dimensions": [
            {"value": k, "label": str(d.label), "lines_only": d.order_path is None} for k, d in DIMENSIONS.items()
        ],
        "measures": [{"value": k, "label": str(label)} for k, label in MEASURES.items()],
        "comparisons": [[value, str(label)] for value, label in COMPARISONS.items()],
        "charts": list(CHARTS),
        "filters": {
            "lifecycle_stages": [[v, str(label)] for v, label in LifecycleStage.choices],
            "rfm_segments": [[v, str(label)] for v, label in RfmSegment.choices],
            "value_tiers": [[v, str(label)] for v, label in ValueTier.choices],
        },
    }


# Checking ---------------------------------------------------------------------------------------


def clean_definition(definition: Any, *, today: dt.date | None = None) -> dict[str, Any]:
    """The definition normalised, or ``InvalidInput`` naming every bad part."""
    if not isinstance(definition, Mapping):
        raise InvalidInput([FieldError("definition", "invalid", "a report definition is an object")])
    errors: list[FieldError] = []
    unknown = set(definition) - {"dimensions", "measures", "filters", "chart", "limit", "secondary", "compare"}
    errors.extend(FieldError(key, "unknown", "not part of a report definition") for key in sorted(unknown))
    dimensions = _names(definition.get("dimensions", []), "dimensions", DIMENSIONS, errors, at_least=0, at_most=2)
    measures = _names(definition.get("measures", []), "measures", MEASURES, errors, at_least=1, at_most=6)
    lines = _uses_lines(dimensions, measures)
    if lines and (bad := [m for m in measures if m in ORDER_ONLY_MEASURES]):
        errors.append(
            FieldError("measures", "invalid", f"{', '.join(bad)} cannot be combined with category, product or units")
        )
    chart = definition.get("chart", "table")
    if chart not in CHARTS:
        errors.append(FieldError("chart", "invalid", f"one of: {', '.join(CHARTS)}"))
    elif chart != "table" and not dimensions:
        errors.append(FieldError("chart", "invalid", "a chart needs at least one dimension"))
    limit = definition.get("limit", 500)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        errors.append(FieldError("limit", "invalid", f"a whole number from 1 to {MAX_ROWS}"))
    filters = _clean_filters(definition.get("filters", {}), errors, today or timezone.localdate(timezone=shop_zone()))
    extras = _clean_extras(definition, measures, errors)
    if errors:
        raise InvalidInput(errors)
    return {
        "dimensions": dimensions,
        "measures": measures,
        "filters": filters,
        "chart": chart,
        "limit": limit,
        **extras,
    }


def _clean_extras(definition: Mapping[str, Any], measures: list[str], errors: list[FieldError]) -> dict[str, Any]:
    """``secondary``: measures drawn on a second (right) axis; ``compare``: a period to set
    beside the chosen one. Only present when chosen, so older definitions read the same."""
    extras: dict[str, Any] = {}
    secondary = definition.get("secondary", [])
    if not isinstance(secondary, list) or any(m not in measures for m in secondary):
        errors.append(FieldError("secondary", "invalid", "a list of the chosen measures"))
    elif secondary:
        extras["secondary"] = [m for m in measures if m in secondary]
    compare = definition.get("compare", "")
    if compare not in COMPARISONS:
        errors.append(FieldError("compare", "invalid", f"one of: {', '.join(c for c in COMPARISONS if c)}"))
    elif compare:
        extras["compare"] = compare
    return extras


def _names(
    value: Any, field: str, known: Mapping[str, Any], errors: list[FieldError], *, at_least: int, at_most: int
) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(field, "invalid", "a list of names"))
        return []
    for i, name in enumerate(value):
        if name not in known:
            errors.append(FieldError(f"{field}.{i}", "invalid", f"one of: {', '.join(known)}"))
    if len(set(value)) != len(value):
        errors.append(FieldError(field, "invalid", "each name at most once"))
    if not at_least <= len(value) <= at_most:
        errors.append(FieldError(field, "invalid", f"choose from {at_least} to {at_most}"))
    return [v for v in value if v in known]


def _clean_filters(value: Any, errors: list[FieldError], today: dt.date) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        errors.append(FieldError("filters", "invalid", "an object"))
        return {}
    unknown = set(value) - {"start", "end", "store", *LIST_FILTERS}
    errors.extend(FieldError(f"filters.{key}", "unknown", "not a report filter") for key in sorted(unknown))
    try:
        window = Filters.parse(value, today=today)
    except InvalidInput as exc:
        errors.extend(FieldError(f"filters.{e.field}", e.code, e.message) for e in exc.errors)
        return {}
    cleaned: dict[str, Any] = window.as_params()
    for key, (_path, allowed) in LIST_FILTERS.items():
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            errors.append(FieldError(f"filters.{key}", "invalid", "a list of names"))
            continue
        if allowed is not None and (bad := [i for i in items if i not in allowed]):
            errors.append(FieldError(f"filters.{key}", "invalid", f"not among the choices: {', '.join(bad)}"))
        cleaned[key] = sorted(set(items))
    return cleaned


def _uses_lines(dimensions: list[str], measures: list[str]) -> bool:
    return any(DIMENSIONS[d].order_path is None for d in dimensions) or any(m in LINE_ONLY_MEASURES for m in measures)


# Running ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    definition: dict[str, Any]
    columns: list[dict[str, str]]  # {"key", "label", "kind": "dimension" | "measure"}
    rows: list[list[Any]]
    truncated: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "definition": self.definition,
            "columns": self.columns,
            "rows": [[_json_value(v) for v in row] for row in self.rows],
            "truncated": self.truncated,
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def run(definition: Mapping[str, Any]) -> Result:
    cleaned = clean_definition(definition)
    rows, truncated = _rows(cleaned, cleaned["filters"])
    columns = [{"key": d, "label": str(DIMENSIONS[d].label), "kind": "dimension"} for d in cleaned["dimensions"]]
    columns += [{"key": m, "label": str(MEASURES[m]), "kind": "measure"} for m in cleaned["measures"]]
    if cleaned.get("compare"):
        earlier, _cut = _rows(cleaned, compared_filters(cleaned["filters"], cleaned["compare"]))
        rows = _beside(cleaned, rows, earlier)
        label = COMPARISONS[cleaned["compare"]]
        columns += [
            {"key": f"{m}__compare", "label": f"{MEASURES[m]} ({label})", "kind": "comparison"}
            for m in cleaned["measures"]
        ]
    return Result(cleaned, columns, rows, truncated)


def compared_filters(filters: Mapping[str, Any], compare: str) -> dict[str, Any]:
    """The same filters over the period before (as long as the chosen one) or a year before."""
    start, end = dt.date.fromisoformat(filters["start"]), dt.date.fromisoformat(filters["end"])
    if compare == "previous_year":
        start, end = _year_before(start), _year_before(end)
    else:
        length = end - start + dt.timedelta(days=1)
        start, end = start - length, end - length
    return {**filters, "start": start.isoformat(), "end": end.isoformat()}


def _year_before(day: dt.date) -> dt.date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 1)


def _beside(cleaned: Mapping[str, Any], rows: list[list[Any]], earlier: list[list[Any]]) -> list[list[Any]]:
    """Each row with the comparison period's measures: matched by position along a time axis
    (this May beside last May), by the dimension values otherwise; None where there is none."""
    width = len(cleaned["dimensions"])
    empty = [None] * len(cleaned["measures"])
    if width and cleaned["dimensions"][0] in TIME_DIMENSIONS:
        return [row + (earlier[i][width:] if i < len(earlier) else empty) for i, row in enumerate(rows)]
    by_key = {tuple(row[:width]): row[width:] for row in earlier}
    return [row + by_key.get(tuple(row[:width]), empty) for row in rows]


def _rows(cleaned: Mapping[str, Any], filters: Mapping[str, Any]) -> tuple[list[list[Any]], bool]:
    window = Filters.parse(filters, today=timezone.localdate(timezone=shop_zone()))
    lines = _uses_lines(cleaned["dimensions"], cleaned["measures"])
    facts: QuerySet[Any] = window.lines() if lines else window.orders()
    prefix = "order__" if lines else ""
    for key, (path, _allowed) in LIST_FILTERS.items():
        if filters.get(key):
            facts = facts.filter(**{f"{prefix}{path}__in": filters[key]})
    dimension_columns = {f"d_{d}": _dimension_expression(d, lines) for d in cleaned["dimensions"]}
    aggregates = _aggregates(lines, prefix)
    if not dimension_columns:
        rows_raw = [facts.aggregate(**aggregates)]
    else:
        first_measure = cleaned["measures"][0]
        ordering = (
            [*dimension_columns] if cleaned["dimensions"][0] in TIME_DIMENSIONS else [f"-{_sort_key(first_measure)}"]
        )
        annotated = facts.values(**dimension_columns).annotate(**aggregates)
        rows_raw = list(annotated.order_by(*ordering)[: cleaned["limit"] + 1])
    truncated = len(rows_raw) > cleaned["limit"]
    rows = []
    for raw in rows_raw[: cleaned["limit"]]:
        row: list[Any] = [_dimension_value(d, raw[f"d_{d}"]) for d in cleaned["dimensions"]]
        row.extend(_measure(m, raw) for m in cleaned["measures"])
        rows.append(row)
    return rows, truncated


def _dimension_expression(name: str, lines: bool) -> Expression:
    dimension = DIMENSIONS[name]
    return dimension.line_path if lines else dimension.order_path


def _aggregates(lines: bool, prefix: str) -> dict[str, Any]:
    if lines:
        revenue = Coalesce(Sum("line_total", output_field=MONEY), ZERO, output_field=MONEY)
        return {
            "m_revenue": revenue,
            "m_orders": Count("order", distinct=True),
            "m_customers": Count("order__customer", distinct=True),
            "m_units": Coalesce(Sum("quantity"), 0),
        }
    return {
        "m_revenue": Coalesce(Sum(net_revenue(), output_field=MONEY), ZERO, output_field=MONEY),
        "m_orders": Count("id"),
        "m_customers": Count("customer", distinct=True),
        "m_discount": Coalesce(Sum("discount_total", output_field=MONEY), ZERO, output_field=MONEY),
        "m_refunded": Coalesce(Sum("refunded_total", output_field=MONEY), ZERO, output_field=MONEY),
    }


def _sort_key(measure: str) -> str:
    return {"average_order_value": "m_revenue", "revenue_per_customer": "m_revenue"}.get(measure, f"m_{measure}")


def _cents(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _measure(name: str, raw: Mapping[str, Any]) -> Any:
    if name == "average_order_value":
        return _cents(Decimal(raw["m_revenue"]) / raw["m_orders"]) if raw["m_orders"] else _cents(0)
    if name == "revenue_per_customer":
        return _cents(Decimal(raw["m_revenue"]) / raw["m_customers"]) if raw["m_customers"] else _cents(0)
    if name in ("orders", "customers", "units"):
        return int(raw[f"m_{name}"] or 0)
    return _cents(raw[f"m_{name}"])


def _dimension_value(name: str, value: Any) -> Any:
    if value is None or value == "":
        return "—"
    if name == "month" and isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m")
    if name in ("week", "day") and isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    labels = {
        "lifecycle_stage": LifecycleStage,
        "rfm_segment": RfmSegment,
        "value_tier": ValueTier,
    }
    if name in labels and value in labels[name].values:
        return str(labels[name](value).label)
    return value


# Exporting --------------------------------------------------------------------------------------


def _table(result: Result) -> list[list[Any]]:
    return [[str(c["label"]) for c in result.columns], *result.rows]


def to_csv(result: Result) -> bytes:
    """The result as CSV through the shared writer: a dimension value such as a store or product
    name that starts like a formula is written as text."""
    return csv_bytes(_table(result))


def to_xlsx(result: Result, *, title: str = "Report") -> bytes:
    return xlsx_bytes([(title or "Report", _table(result))])


# Chart ------------------------------------------------------------------------------------------


def chart(result: Result) -> Any:
    """A Plotly figure of the result: the first dimension along the axis, the second (if any) as
    series of the first measure, otherwise one series per measure."""
    import plotly.graph_objects as go

    from rapport.analytics.charts import figure, month_axis

    kind = result.definition["chart"]
    dimensions = result.definition["dimensions"]
    fig = figure()
    x = [str(row[0]) for row in result.rows]
    if kind == "pie":
        fig.add_trace(go.Pie(labels=x, values=[float(row[len(dimensions)]) for row in result.rows], hole=0.4))
        return fig
    trace = go.Bar if kind == "bar" else go.Scatter
    if len(dimensions) == 2:
        series: dict[str, dict[str, float]] = {}
        for row in result.rows:
            series.setdefault(str(row[1]), {})[str(row[0])] = float(row[2])
        axis = list(dict.fromkeys(x))
        for name, values in series.items():
            fig.add_trace(trace(x=axis, y=[values.get(a, 0.0) for a in axis], name=name))
        if kind == "bar":
            fig.update_layout(barmode="stack")
    else:
        _measure_traces(fig, result, trace, x)
    return month_axis(fig)  # the labels are text whatever the dimension: months, stores, products


def _measure_traces(fig: Any, result: Result, trace: Any, x: list[str]) -> None:
    """One series per measure (the ``secondary`` ones on a right-hand axis), and for a
    comparison each measure's earlier period as a dotted line on the same axis."""
    import plotly.graph_objects as go

    measures = result.definition["measures"]
    secondary = set(result.definition.get("secondary", []))
    compare = result.definition.get("compare")

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    for i, measure in enumerate(measures):
        axis = {"yaxis": "y2"} if measure in secondary else {}
        fig.add_trace(trace(x=x, y=[number(row[1 + i]) for row in result.rows], name=str(MEASURES[measure]), **axis))
        if compare:
            label = f"{MEASURES[measure]} ({COMPARISONS[compare]})"
            earlier = [number(row[1 + len(measures) + i]) for row in result.rows]
            fig.add_trace(go.Scatter(x=x, y=earlier, name=label, line={"dash": "dot"}, **axis))
    if secondary:
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})


# Saved reports ----------------------------------------------------------------------------------


def save_report(
    *, owner: Any, name: str, definition: Any, actor: Actor, report: SavedReport | None = None
) -> SavedReport:
    """Create (or, with ``report``, overwrite) one of ``owner``'s saved reports."""
    name = (name or "").strip()
    errors = [] if 1 <= len(name) <= 120 else [FieldError("name", "invalid", "a name of 1 to 120 characters")]
    try:
        cleaned = clean_definition(definition)
    except InvalidInput as exc:
        errors.extend(FieldError(f"definition.{e.field}", e.code, e.message) for e in exc.errors)
    if errors:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            if report is None:
                report = SavedReport.objects.create(owner=owner, name=name, definition=cleaned)
                action = AuditEntry.Action.CREATE
            else:
                report.name, report.definition = name, cleaned
                report.save(update_fields=["name", "definition", "updated_at"])
                action = AuditEntry.Action.UPDATE
            record(actor, action, obj=report, changes={"name": name, "definition": cleaned})
    except IntegrityError as exc:
        raise Conflict.single("name", "duplicate", f"you already have a report named {name!r}") from exc
    return report


def owned_report(owner: Any, pk: int) -> SavedReport:
    report = SavedReport.objects.filter(owner=owner, pk=pk).first()
    if report is None:
        raise NotFound.single("report", "not_found", f"no saved report {pk} of yours")
    return report


def delete_report(report: SavedReport, *, actor: Actor) -> None:
    with transaction.atomic():
        record(actor, AuditEntry.Action.DELETE, obj=report, changes={"name": report.name})
        report.delete()
