"""Key figures for the dashboards, each one aggregation in the database.

Definitions (all over *counted* orders — paid, shipped, completed, refunded in part or whole —
placed in the date range, in the shop's time zone ``settings.RAPPORT_DEFAULT_TIME_ZONE``, and in
one store when a store is chosen):

* **active customers** — customers with an order in the range;
* **new customers** — active customers whose first order ever falls in the range; the others
  are **returning**;
* **repurchase rate** (复购率) — share of active customers with two or more orders in the range;
* **revenue** — order totals less refunds; **AOV** (客单价) = revenue ÷ orders; **ARPU** =
  revenue ÷ active customers;
* **cohort retention** — of the customers whose first order was in month *m*, the share who
  ordered in month *m + k*.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DecimalField, F, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from rapport.analytics.models import CustomerMetrics, LifecycleStage, RfmSegment
from rapport.commerce.models import Order, OrderLine
from rapport.commerce.queries import counted, net_revenue
from rapport.core.errors import FieldError, InvalidInput
from rapport.customers.models import Store

MAX_RANGE_DAYS = 5 * 366
ZERO = Decimal("0.00")
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)
NET = net_revenue()


def shop_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # included
    store: Store | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, today: dt.date) -> Filters:
        """``start``, ``end`` (YYYY-MM-DD; default the last 365 days to ``today``) and ``store``
        (a store code; default all). ``InvalidInput`` names each bad field."""
        errors: list[FieldError] = []
        end = _date(params.get("end"), "end", today, errors)
        start = _date(params.get("start"), "start", end - dt.timedelta(days=364), errors)
        if not errors and start > end:
            errors.append(FieldError("start", "invalid", "the start is after the end"))
        if not errors and (end - start).days > MAX_RANGE_DAYS:
            errors.append(FieldError("end", "invalid", f"a range of at most {MAX_RANGE_DAYS} days"))
        store = None
        code = (params.get("store") or "").strip()
        if code:
            store = Store.objects.filter(code=code).first()
            if store is None:
                errors.append(FieldError("store", "not_found", f"no store with the code {code!r}"))
        if errors:
            raise InvalidInput(errors)
        return cls(start, end, store)

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), shop_zone())

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), shop_zone())

    def orders(self) -> QuerySet[Order]:
        orders = Order.objects.counted().filter(
            placed_at__gte=self.since, placed_at__lt=self.until, customer__isnull=False
        )
        return orders.filter(store=self.store) if self.store else orders

    def lines(self) -> QuerySet[OrderLine]:
        """The lines of :meth:`orders`."""
        lines = OrderLine.objects.filter(
            counted("order__"),
            order__placed_at__gte=self.since,
            order__placed_at__lt=self.until,
            order__customer__isnull=False,
        )
        return lines.filter(order__store=self.store) if self.store else lines

    def as_params(self) -> dict[str, str]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "store": self.store.code if self.store else "",
        }


def _date(value: Any, field: str, default: dt.date, errors: list[FieldError]) -> dt.date:
    if value in (None, ""):
        return default
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append(FieldError(field, "invalid", "expected a date such as 2025-06-18"))
        return default


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, tzinfo=shop_zone())


def _revenue(prefix: str = "") -> Coalesce:
    net = net_revenue(prefix)
    return Coalesce(Sum(net, output_field=MONEY), ZERO, output_field=MONEY)


def _ratio(top: Any, bottom: Any) -> Decimal:
    return (Decimal(top) / Decimal(bottom)).quantize(Decimal("0.01")) if bottom else ZERO


# Headline figures -------------------------------------------------------------------------------


def headline(filters: Filters) -> dict[str, Any]:
    orders = filters.orders()
    totals = orders.aggregate(orders=Count("id"), revenue=_revenue(), active=Count("customer", distinct=True))
    per_customer = orders.values("customer").annotate(n=Count("id")).order_by()
    repeaters = per_customer.filter(n__gte=2).count()
    new = (
        orders.filter(
            customer__stats__first_order_at__gte=filters.since, customer__stats__first_order_at__lt=filters.until
        )
        .values("customer")
        .distinct()
        .count()
    )
    active = totals["active"]
    return {
        "active_customers": active,
        "new_customers": new,
        "returning_customers": active - new,
        "orders": totals["orders"],
        "revenue": totals["revenue"],
        "average_order_value": _ratio(totals["revenue"], totals["orders"]),
        "arpu": _ratio(totals["revenue"], active),
        "repurchase_rate": round(repeaters / active, 4) if active else 0.0,
    }


def monthly(filters: Filters) -> list[dict[str, Any]]:
    """Per month: active, new and returning customers, orders, revenue, AOV."""
    orders = filters.orders()
    rows = (
        orders.annotate(month=_month("placed_at"))
        .values("month")
        .annotate(orders=Count("id"), revenue=_revenue(), active=Count("customer", distinct=True))
        .order_by("month")
    )
    first_month = _month("customer__stats__first_order_at")
    new_by_month = dict(
        orders.annotate(month=_month("placed_at"), first=first_month)
        .filter(month=F("first"))
        .values("month")
        .annotate(n=Count("customer", distinct=True))
        .values_list("month", "n")
        .order_by()
    )
    result = []
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        new = new_by_month.get(row["month"], 0)
        result.append(
            {
                "month": month.strftime("%Y-%m"),
                "active": row["active"],
                "new": new,
                "returning": row["active"] - new,
                "orders": row["orders"],
                "revenue": row["revenue"],
                "average_order_value": _ratio(row["revenue"], row["orders"]),
            }
        )
    return result


def cohort_retention(filters: Filters, *, max_cohorts: int = 12) -> dict[str, Any]:
    """Rows: the last ``max_cohorts`` first-order months in the range; columns: months since."""
    rows = (
        filters.orders()
        .annotate(cohort=_month("customer__stats__first_order_at"), month=_month("placed_at"))
        .filter(cohort__gte=_month_start(filters.since))
        .values("cohort", "month")
        .annotate(n=Count("customer", distinct=True))
        .order_by()
    )
    counts: dict[str, dict[int, int]] = {}
    for row in rows:
        cohort, month = row["cohort"], row["month"]
        offset = (month.year - cohort.year) * 12 + month.month - cohort.month
        counts.setdefault(f"{cohort:%Y-%m}", {})[offset] = row["n"]
    cohorts = sorted(counts)[-max_cohorts:]
    width = max((max(counts[c]) + 1 for c in cohorts), default=0)
    matrix = []
    sizes = []
    for cohort in cohorts:
        size = counts[cohort].get(0, 0)
        sizes.append(size)
        matrix.append(
            [round(counts[cohort].get(k, 0) / size, 4) if size and k in counts[cohort] else None for k in range(width)]
        )
    return {"cohorts": cohorts, "sizes": sizes, "offsets": list(range(width)), "retention": matrix}


def _month_start(moment: dt.datetime) -> dt.datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


# Breakdowns -------------------------------------------------------------------------------------


def by_store(filters: Filters) -> list[dict[str, Any]]:
    rows = (
        filters.orders()
        .values(store_name=Coalesce("store__name", F("channel")))
        .annotate(orders=Count("id"), revenue=_revenue(), customers=Count("customer", distinct=True))
        .order_by("-revenue")
    )
    return [{**row, "average_order_value": _ratio(row["revenue"], row["orders"])} for row in rows]


def by_owner(filters: Filters) -> list[dict[str, Any]]:
    rows = (
        filters.orders()
        .values("customer__owner__username")
        .annotate(orders=Count("id"), revenue=_revenue(), customers=Count("customer", distinct=True))
        .order_by("-revenue")
    )
    return [
        {
            "owner": row["customer__owner__username"] or _("(no owner)"),
            "orders": row["orders"],
            "revenue": row["revenue"],
            "customers": row["customers"],
            "arpu": _ratio(row["revenue"], row["customers"]),
        }
        for row in rows
    ]


def by_channel(filters: Filters) -> list[dict[str, Any]]:
    rows = filters.orders().values("channel").annotate(orders=Count("id"), revenue=_revenue()).order_by("-revenue")
    total = sum((row["revenue"] for row in rows), ZERO)
    return [{**row, "share": round(float(row["revenue"] / total), 4) if total else 0.0} for row in rows]


def by_category(filters: Filters, *, limit: int = 15) -> list[dict[str, Any]]:
    rows = (
        filters.lines()
        .values(category=Coalesce("product__category__name", F("sku")))
        .annotate(
            revenue=Coalesce(Sum("line_total", output_field=MONEY), ZERO, output_field=MONEY),
            units=Sum("quantity"),
            customers=Count("order__customer", distinct=True),
        )
        .order_by("-revenue")[:limit]
    )
    return list(rows)


def top_products(filters: Filters, *, limit: int = 10) -> list[dict[str, Any]]:
    rows = (
        filters.lines()
        .values("sku", "name")
        .annotate(
            revenue=Coalesce(Sum("line_total", output_field=MONEY), ZERO, output_field=MONEY),
            units=Sum("quantity"),
            customers=Count("order__customer", distinct=True),
        )
        .order_by("-revenue", "sku")[:limit]
    )
    return list(rows)


def customer_mix(filters: Filters) -> dict[str, list[dict[str, Any]]]:
    """Today's lifecycle stages and RFM segments (of the store's customers when one is chosen)."""
    metrics = CustomerMetrics.objects.all()
    if filters.store:
        metrics = metrics.filter(customer__store=filters.store)
    stages = dict(
        metrics.values("lifecycle_stage").annotate(n=Count("pk")).values_list("lifecycle_stage", "n").order_by()
    )
    segments = dict(
        metrics.exclude(rfm_segment="")
        .values("rfm_segment")
        .annotate(n=Count("pk"))
        .values_list("rfm_segment", "n")
        .order_by()
    )
    return {
        "lifecycle": [
            {"key": s.value, "label": str(s.label), "customers": stages.get(s.value, 0)} for s in LifecycleStage
        ],
        "rfm": [{"key": s.value, "label": str(s.label), "customers": segments.get(s.value, 0)} for s in RfmSegment],
    }


def dashboard(filters: Filters) -> dict[str, Any]:
    """Everything the dashboard shows, for the page and the API (amounts to the cent)."""
    return _cents(
        {
            "filters": filters.as_params(),
            "headline": headline(filters),
            "monthly": monthly(filters),
            "cohorts": cohort_retention(filters),
            "stores": by_store(filters),
            "owners": by_owner(filters),
            "channels": by_channel(filters),
            "categories": by_category(filters),
            "products": top_products(filters),
            "customer_mix": customer_mix(filters),
        }
    )


def _cents(value: Any) -> Any:
    """Amounts quantised to cents all through a nested result (SQLite sums carry float noise)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, dict):
        return {k: _cents(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cents(v) for v in value]
    return value
