"""From the forecast to the shelf: ABC/XYZ classes, safety stock and reorder points.

- **ABC** ranks products by their share of the last 52 weeks' revenue: the products making up
  the first 80 % are A, the next 15 % B, the rest C.
- **XYZ** by the coefficient of variation of weekly demand: X up to 0.5, Y up to 1, Z above.
- **Safety stock** = z(service level) × σ × √(lead time in weeks), σ being the forecast's
  one-week error (from its interval), so an item that the forecast knows well holds less.
- **Reorder point** = the forecast demand over the lead time + the safety stock.

A product's forecast is for all its locations; each stock item takes the share of the product's
units its location sold over the last 13 weeks (orders of its store; the default location takes
the orders without a store), or an equal share when the product sold nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from statistics import NormalDist

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from rapport.commerce.models import OrderLine
from rapport.commerce.queries import counted
from rapport.inventory.models import Location, ProductClass, SalesForecast, StockItem, StockPlan

A_SHARE, B_SHARE = 0.80, 0.95
X_CV, Y_CV = 0.5, 1.0
SHARE_WEEKS = 13


def abc_classes(revenue: Mapping[int, Decimal]) -> dict[int, tuple[str, float]]:
    """Each product's class and revenue share; a product is A while the revenue ranked above it
    is under 80 % (so the one that crosses the line is A too), B under 95 %, otherwise C."""
    total = sum((v for v in revenue.values() if v > 0), Decimal(0))
    classes: dict[int, tuple[str, float]] = {}
    before = Decimal(0)
    for key, value in sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0])):
        if total <= 0 or value <= 0:
            classes[key] = ("C", 0.0)
            continue
        share_before = float(before / total)
        classes[key] = ("A" if share_before < A_SHARE else "B" if share_before < B_SHARE else "C", float(value / total))
        before += value
    return classes


def xyz_class(cv: float | None) -> str:
    if cv is None or math.isnan(cv):
        return "Z"
    return "X" if cv <= X_CV else "Y" if cv <= Y_CV else "Z"


def demand_cv(weekly: np.ndarray) -> float | None:
    mean = float(weekly.mean()) if weekly.size else 0.0
    return float(weekly.std() / mean) if mean > 0 else None


def safety_stock(sigma_week: float, lead_time_days: int, service_level: float) -> float:
    """Units held against the forecast's error over the lead time at the service level (the
    chance of not running out before the order arrives)."""
    z = NormalDist().inv_cdf(service_level)
    return max(z * sigma_week * math.sqrt(lead_time_days / 7), 0.0)


def reorder_point(weekly_demand: float, lead_time_days: int, safety: float) -> float:
    return weekly_demand * lead_time_days / 7 + safety


def _location_shares(since: dt.datetime) -> dict[tuple[int, int], float]:
    """(product, location) → the location's share of the product's units since ``since``."""
    store_location = dict(Location.objects.exclude(store=None).values_list("store_id", "pk"))
    default = Location.objects.filter(is_default=True).values_list("pk", flat=True).first()
    units: dict[tuple[int, int], float] = defaultdict(float)
    rows = (
        OrderLine.objects.filter(counted("order__"), order__placed_at__gte=since)
        .exclude(product=None)
        .values_list("product_id", "order__store_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    for product_id, store_id, quantity in rows:
        location = store_location.get(store_id, default) if store_id else default
        if location is not None:
            units[(product_id, location)] += quantity
    totals: dict[int, float] = defaultdict(float)
    for (product_id, _location), quantity in units.items():
        totals[product_id] += quantity
    return {key: quantity / totals[key[0]] for key, quantity in units.items() if totals[key[0]]}


def refresh_classes(revenue: Mapping[int, Decimal], weekly: Mapping[int, np.ndarray], *, now: dt.datetime) -> int:
    """Rewrite every product's ABC/XYZ class."""
    rows = [
        ProductClass(
            product_id=pid,
            abc=abc,
            xyz=xyz_class(cv := demand_cv(weekly.get(pid, np.zeros(1)))),
            revenue=revenue.get(pid, Decimal(0)),
            revenue_share=round(share, 6),
            demand_cv=None if cv is None else round(cv, 4),
            computed_at=now,
        )
        for pid, (abc, share) in abc_classes({pid: revenue.get(pid, Decimal(0)) for pid in weekly}).items()
    ]
    with transaction.atomic():
        ProductClass.objects.all().delete()
        ProductClass.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def refresh_plans(*, now: dt.datetime, service_level: float | None = None) -> int:
    """Rewrite every stock item's plan from the stored weekly product forecasts."""
    level = service_level or settings.RAPPORT_STOCK_SERVICE_LEVEL
    forecasts = {
        key: (values, sigma)
        for key, values, sigma in SalesForecast.objects.filter(
            scope=SalesForecast.Scope.PRODUCT, frequency=SalesForecast.Frequency.WEEK
        ).values_list("key", "values", "sigma")
    }
    shares = _location_shares(now - dt.timedelta(weeks=SHARE_WEEKS))
    items = list(StockItem.objects.values_list("pk", "product_id", "location_id", "lead_time_days"))
    locations_of: dict[int, int] = defaultdict(int)
    sold = {product_id for product_id, _location in shares}
    for _pk, product_id, _location, _lead in items:
        locations_of[product_id] += 1
    plans = []
    for pk, product_id, location_id, lead in items:
        values, sigma = forecasts.get(product_id, ({"mean": [0.0]}, 0.0))
        share = shares.get((product_id, location_id), 0.0 if product_id in sold else 1 / locations_of[product_id])
        mean = [v * share for v in values["mean"]]
        weekly = sum(mean) / len(mean) if mean else 0.0
        safety = safety_stock(sigma * share, lead, level)
        plans.append(
            StockPlan(
                item_id=pk,
                weekly_demand=round(weekly, 3),
                safety_stock=math.ceil(safety),
                reorder_point=math.ceil(reorder_point(weekly, lead, safety)),
                horizon_demand=round(sum(mean), 3),
                service_level=level,
                computed_at=now,
            )
        )
    with transaction.atomic():
        StockPlan.objects.all().delete()
        StockPlan.objects.bulk_create(plans, batch_size=1000)
    return len(plans)
