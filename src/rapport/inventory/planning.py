"""The scheduled sales forecast: every product, category, store and the shop, weekly and daily,
stored for the pages, the stock plan and the API, with a backtest per category; then the ABC/XYZ
classes, each stock item's plan and the low-stock warnings (库存预警).

Sales are read in a few grouped queries (units of counted orders per product and week, per store
and day), laid out as numpy arrays, forecast series by series (:mod:`rapport.inventory.forecasting`)
and written back in bulk, one row per series. Product series borrow the calendar factors of their
category (or of the shop when the category's own series is too sparse): one product's week is
too noisy to show 618 by itself.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from rapport.commerce.models import Category, OrderLine, Product
from rapport.commerce.queries import counted
from rapport.inventory import alerts, forecasting, replenishment, retail_calendar
from rapport.inventory.models import ForecastRun, SalesForecast

WEEKS = 104  # history: two years, so that each event of the calendar is seen at least once
DAYS = 365
HORIZON_WEEKS = 13
HORIZON_DAYS = 91
HISTORY_SHOWN = 26  # periods of actuals kept with a forecast for its chart
BACKTEST_ORIGINS = 3
YEAR_WEEKS = 52
Scope = SalesForecast.Scope
Frequency = SalesForecast.Frequency


def shop_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)).date()


@dataclass
class Sales:
    """Units sold per day over the history window: products × days, stores × days."""

    first_day: dt.date
    product_ids: list[int]
    by_product: np.ndarray
    store_ids: list[int]
    by_store: np.ndarray

    def weekly(self, daily: np.ndarray) -> np.ndarray:
        return daily.reshape(daily.shape[0], daily.shape[1] // 7, 7).sum(axis=2)


def read_sales(today: dt.date) -> Sales:
    """Daily units for the ``WEEKS`` whole weeks (Monday to Sunday, shop time) before this week."""
    this_monday = today - dt.timedelta(days=today.weekday())
    first_day = this_monday - dt.timedelta(weeks=WEEKS)
    tz = zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(this_monday, dt.time(), tzinfo=tz)
    lines = (
        OrderLine.objects.filter(counted("order__"), order__placed_at__gte=start, order__placed_at__lt=end)
        .exclude(product=None)
        .annotate(day=TruncDate("order__placed_at", tzinfo=tz))
    )
    product_rows = list(lines.values_list("product_id", "day").annotate(units=Sum("quantity")).order_by())
    store_rows = list(
        lines.exclude(order__store=None)
        .values_list("order__store_id", "day")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    product_ids = list(Product.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    store_ids = sorted({row[0] for row in store_rows})
    return Sales(
        first_day,
        product_ids,
        _matrix(product_rows, product_ids, first_day, WEEKS * 7),
        store_ids,
        _matrix(store_rows, store_ids, first_day, WEEKS * 7),
    )


def _matrix(rows: Sequence[tuple[int, dt.date, int]], keys: list[int], first_day: dt.date, days: int) -> np.ndarray:
    out = np.zeros((len(keys), days), dtype=np.float64)
    index = {key: i for i, key in enumerate(keys)}
    kept = [(index[key], (day - first_day).days, units) for key, day, units in rows if key in index]
    if kept:
        at = np.array(kept, dtype=np.int64)
        np.add.at(out, (at[:, 0], at[:, 1]), at[:, 2])
    return out


@dataclass
class Series:
    scope: str
    key: int
    values: np.ndarray
    factors_from: np.ndarray


def _category_series(sales: Sales, weekly: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, int | None]]:
    category_of: dict[int, int | None] = dict(
        Product.objects.filter(pk__in=sales.product_ids).values_list("pk", "category_id")
    )
    totals: dict[int, np.ndarray] = {}
    for row, product_id in enumerate(sales.product_ids):
        category = category_of.get(product_id)
        if category is not None:
            totals[category] = totals.get(category, np.zeros(weekly.shape[1])) + weekly[row]
    return totals, category_of


def weekly_series(sales: Sales) -> Iterator[Series]:
    """Every weekly series with the aggregate its calendar factors come from."""
    weekly = sales.weekly(sales.by_product)
    shop = weekly.sum(axis=0)
    categories, category_of = _category_series(sales, weekly)
    usable = {
        key: total if forecasting.demand_class(total) in ("smooth", "erratic") else shop
        for key, total in categories.items()
    }
    yield Series(Scope.SHOP, 0, shop, shop)
    for key, total in categories.items():
        yield Series(Scope.CATEGORY, key, total, usable[key])
    stores = sales.weekly(sales.by_store)
    for row, key in enumerate(sales.store_ids):
        yield Series(Scope.STORE, key, stores[row], shop)
    for row, key in enumerate(sales.product_ids):
        category = category_of.get(key)
        yield Series(Scope.PRODUCT, key, weekly[row], usable.get(category, shop) if category else shop)


def daily_series(sales: Sales) -> Iterator[Series]:
    """Every series by day over the last year, each product's too: a product's day is mostly
    zeros, so its calendar factors come from its category's days (or the shop's) and its model is
    Croston or TSB unless it sells nearly every day."""
    days = sales.by_product[:, -DAYS:]
    shop = days.sum(axis=0)
    yield Series(Scope.SHOP, 0, shop, shop)
    _weekly_totals, category_of = _category_series(sales, sales.weekly(sales.by_product))
    rows_of: dict[int, list[int]] = {}
    for row, product_id in enumerate(sales.product_ids):
        category = category_of.get(product_id)
        if category is not None:
            rows_of.setdefault(category, []).append(row)
    usable = {}
    for key, rows in rows_of.items():
        total = days[rows].sum(axis=0)
        usable[key] = total if forecasting.demand_class(total) == "smooth" else shop
        yield Series(Scope.CATEGORY, key, total, usable[key])
    for row, key in enumerate(sales.store_ids):
        yield Series(Scope.STORE, key, sales.by_store[row, -DAYS:], shop)
    for row, key in enumerate(sales.product_ids):
        category = category_of.get(key)
        yield Series(Scope.PRODUCT, key, days[row], usable.get(category, shop) if category is not None else shop)


def _row(series: Series, frequency: str, first: dt.date, days: int, horizon: int, now: dt.datetime) -> SalesForecast:
    count = series.values.size
    sigs = retail_calendar.signatures(forecasting.period_starts(first, count + horizon, days), days)
    factors = forecasting.event_factors(series.factors_from, sigs[:count])
    result = forecasting.forecast(
        series.values,
        horizon=horizon,
        season=7 if frequency == Frequency.DAY else 1,
        history_factors=forecasting.adjustment(sigs[:count], factors),
        future_factors=forecasting.adjustment(sigs[count:], factors),
    )
    values = {"mean": result.mean}
    for level in forecasting.LEVELS:
        values[f"lo{level}"], values[f"hi{level}"] = result.lo[level], result.hi[level]
    return SalesForecast(
        scope=series.scope,
        key=series.key,
        frequency=frequency,
        first_period=first + dt.timedelta(days=days * count),
        values={name: [round(float(v), 3) for v in array] for name, array in values.items()},
        history=[round(float(v), 3) for v in series.values[-HISTORY_SHOWN:]],
        method=result.method,
        demand_class=result.demand_class,
        sigma=round(result.sigma, 4) if np.isfinite(result.sigma) else 0.0,
        computed_at=now,
    )


def backtest_categories(sales: Sales) -> dict[str, dict[str, dict[str, float]]]:
    """Per category (and the shop): rolling-origin MASE and WAPE of our weekly forecast, of the
    same without the calendar, and of seasonal-naive (a year back), same origins, same data."""
    weekly = sales.weekly(sales.by_product)
    categories, _category_of = _category_series(sales, weekly)
    names = dict(Category.objects.values_list("pk", "code"))
    starts = forecasting.period_starts(sales.first_day, weekly.shape[1], 7)
    results = {}
    for label, series in [("(shop)", weekly.sum(axis=0)), *((names.get(k, str(k)), v) for k, v in categories.items())]:
        if series.sum() == 0:
            continue
        results[label] = forecasting.backtest(
            series,
            horizon=HORIZON_WEEKS,
            season=YEAR_WEEKS,
            origins=BACKTEST_ORIGINS,
            predictors={
                "forecast": forecasting.calendar_predictor(starts, 7, horizon=HORIZON_WEEKS, season=1),
                "without_calendar": lambda y, _cut: forecasting.forecast(y, horizon=HORIZON_WEEKS).mean,
                "seasonal_naive": lambda y, _cut: forecasting.seasonal_naive(
                    y, horizon=HORIZON_WEEKS, season=YEAR_WEEKS
                ),
            },
        )
    return results


def refresh_forecasts(*, now: dt.datetime | None = None, backtest: bool = True) -> ForecastRun:
    """Forecast every series from the weeks before ``now``'s week and replace the stored
    forecasts, classes and plans in one transaction."""
    started = time.monotonic()
    now = now or timezone.now()
    sales = read_sales(shop_day(now))
    rows = [_row(s, Frequency.WEEK, sales.first_day, 7, HORIZON_WEEKS, now) for s in weekly_series(sales)]
    first_daily = sales.first_day + dt.timedelta(days=WEEKS * 7 - DAYS)
    rows += [_row(s, Frequency.DAY, first_daily, 1, HORIZON_DAYS, now) for s in daily_series(sales)]
    scores = backtest_categories(sales) if backtest else {}
    weekly = sales.weekly(sales.by_product)[:, -YEAR_WEEKS:]
    with transaction.atomic():
        SalesForecast.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["scope", "key", "frequency"],
            update_fields=["first_period", "values", "history", "method", "demand_class", "sigma", "computed_at"],
        )
        SalesForecast.objects.filter(computed_at__lt=now).delete()
        replenishment.refresh_classes(
            read_revenue(sales), {pid: weekly[row] for row, pid in enumerate(sales.product_ids)}, now=now
        )
        replenishment.refresh_plans(now=now)
        alerts.check_low_stock(now=now)
        return ForecastRun.objects.create(
            computed_at=now, seconds=round(time.monotonic() - started, 2), series=len(rows), backtest=scores
        )


def read_revenue(sales: Sales) -> dict[int, Decimal]:
    """Each product's line revenue over the last 52 weeks of the history window."""
    tz = zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)
    end = sales.first_day + dt.timedelta(weeks=WEEKS)
    start = dt.datetime.combine(end - dt.timedelta(weeks=YEAR_WEEKS), dt.time(), tzinfo=tz)
    rows = (
        OrderLine.objects.filter(
            counted("order__"),
            order__placed_at__gte=start,
            order__placed_at__lt=dt.datetime.combine(end, dt.time(), tzinfo=tz),
        )
        .exclude(product=None)
        .values_list("product_id")
        .annotate(revenue=Sum("line_total"))
        .order_by()
    )
    return {pid: revenue or Decimal(0) for pid, revenue in rows}
