"""Loyalty figures for the dashboards: member performance by level (会员等级业绩), points (积分分析)
and stored value (储值分析), each one aggregation in the database.

The date range, store and shop time zone are :class:`rapport.analytics.kpis.Filters`.

* **By level** — members are grouped by their level *today* (``Membership.level``; customers
  without one are "no level"). Orders, revenue, AOV, ARPU and the repurchase rate follow
  :mod:`rapport.analytics.kpis` over the range's counted orders; *members* counts every customer
  on the level, *active members* those with an order in the range. Level movements are the
  ``LevelChange`` rows in the range, up or down by the levels' ranks.
* **Points and stored value** — the ledger (``Entry``) by month and kind. Debits are shown as
  positive amounts. A balance at the range end is the sum of the entries before it (the ledger
  keeps ``balance == sum(entries)``, so a range ending today reads the account rows instead);
  expiring points are today's open lots.
* **Store filter** — an order's entries (points earned on it, reversed on its refunds) count for
  the order's store; entries without an order (redemptions, top-ups, stored-value spending,
  expiry, adjustments) count for the member's home store; balances, members and level movements
  are the home store's members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.analytics.kpis import ZERO, Filters, _cents, _month, _ratio, _revenue
from rapport.customers.models import Customer
from rapport.loyalty import queries as loyalty_queries
from rapport.loyalty.models import Account, Asset, Entry, EntryKind, Level, LevelChange
from rapport.loyalty.services.program import program_settings

EXPIRY_HORIZONS = (30, 90)
STORED_VALUE = (Asset.PRINCIPAL, Asset.BONUS)
POINTS_FLOWS = ("issued", "redeemed", "returned", "expired", "reversed", "adjusted")
STORED_VALUE_FLOWS = (
    "top_ups",
    "bonus_granted",
    "spent",
    "spent_principal",
    "spent_bonus",
    "returned",
    "withdrawn",
    "forfeited",
    "adjusted",
)


def _amount(value: Any) -> Decimal:
    """A database sum as Decimal to the cent (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _points(value: Any) -> int:
    return int(_amount(value))


def _months(filters: Filters) -> list[str]:
    """Every month the range touches, oldest first, as ``YYYY-MM``."""
    months = []
    year, month = filters.start.year, filters.start.month
    while (year, month) <= (filters.end.year, filters.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_key(value: dt.date | dt.datetime) -> str:
    return f"{value:%Y-%m}"


def _customers(filters: Filters) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    return customers.filter(store=filters.store) if filters.store else customers


def _entries(filters: Filters, assets: Iterable[str]) -> QuerySet[Entry]:
    """Ledger entries of ``assets`` in the range, attributed to the store as the module says."""
    entries = Entry.objects.filter(
        account__asset__in=list(assets), occurred_at__gte=filters.since, occurred_at__lt=filters.until
    )
    if filters.store:
        entries = entries.filter(
            Q(order__store=filters.store) | Q(order__isnull=True, account__customer__store=filters.store)
        )
    return entries


def _held_at_end(filters: Filters, assets: Iterable[str]) -> QuerySet[Any]:
    """What the home store's members held of ``assets`` at the end of the range, as rows with
    ``holder``, ``held_asset`` and ``held``. A range ending in the future reads the account rows
    (the ledger keeps each balance equal to the sum of its entries); an earlier end sums entries."""
    assets = list(assets)
    rows: QuerySet[Any]
    if filters.until > timezone.now():
        rows = Account.objects.filter(asset__in=assets).annotate(
            holder=F("customer"), held_asset=F("asset"), held=F("balance")
        )
        return rows.filter(customer__store=filters.store) if filters.store else rows
    rows = Entry.objects.filter(account__asset__in=assets, occurred_at__lt=filters.until).annotate(
        holder=F("account__customer"), held_asset=F("account__asset"), held=F("amount")
    )
    return rows.filter(account__customer__store=filters.store) if filters.store else rows


def _outstanding_at_end(filters: Filters, assets: Iterable[str]) -> dict[str, Decimal]:
    """Balance per asset at the end of the range."""
    rows = _held_at_end(filters, assets).values("held_asset").annotate(total=Sum("held")).order_by()
    return {row["held_asset"]: _amount(row["total"]) for row in rows}


def _holders_at_end(filters: Filters, assets: Iterable[str]) -> int:
    """Members whose balance of ``assets`` together was above zero at the end of the range."""
    return _held_at_end(filters, assets).values("holder").annotate(total=Sum("held")).filter(total__gt=0).count()


def _by_month_and_kind(entries: QuerySet[Entry]) -> dict[tuple[str, str, str], Decimal]:
    """Sum of amounts per (month, asset, kind)."""
    rows = (
        entries.annotate(month=_month("occurred_at"))
        .values("month", "account__asset", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {(_month_key(r["month"]), r["account__asset"], r["kind"]): _amount(r["total"]) for r in rows}


# Member performance by level --------------------------------------------------------------------


def by_level(filters: Filters) -> dict[str, Any]:
    """One row per level (highest first) and one for members without a level, plus movements."""
    levels = list(Level.objects.order_by("-rank"))
    members: dict[int | None, int] = dict(
        _customers(filters)
        .values("membership__level")
        .annotate(n=Count("pk"))
        .values_list("membership__level", "n")
        .order_by()
    )
    orders = filters.orders()
    repeat_customers = orders.values("customer").annotate(n=Count("id")).filter(n__gte=2).values("customer")
    performance = {
        row["level_id"]: row
        for row in orders.annotate(level_id=F("customer__membership__level"))
        .values("level_id")
        .annotate(
            orders=Count("id"),
            revenue=_revenue(),
            active=Count("customer", distinct=True),
            repeaters=Count("customer", distinct=True, filter=Q(customer__in=repeat_customers)),
        )
        .order_by()
    }
    movements = level_movements(filters, levels)
    total_revenue = sum((_amount(row["revenue"]) for row in performance.values()), ZERO)
    rows = []
    for level in [*levels, None]:
        key = level.pk if level else None
        row = performance.get(key, {})
        revenue = _amount(row.get("revenue"))
        active = row.get("active", 0)
        moves = movements["by_level"].get(key, {})
        rows.append(
            {
                "level": level.name if level else _("(no level)"),
                "rank": level.rank if level else None,
                "members": members.get(key, 0),
                "active_members": active,
                "orders": row.get("orders", 0),
                "revenue": revenue,
                "average_order_value": _ratio(revenue, row.get("orders", 0)),
                "arpu": _ratio(revenue, active),
                "repurchase_rate": round(row.get("repeaters", 0) / active, 4) if active else 0.0,
                "revenue_share": round(float(revenue / total_revenue), 4) if total_revenue else 0.0,
                "moved_up_in": moves.get("up_in", 0),
                "moved_down_in": moves.get("down_in", 0),
                "moved_out": moves.get("out", 0),
            }
        )
    return {
        "levels": rows,
        "movements": movements["pairs"],
        "upgrades": movements["up"],
        "downgrades": movements["down"],
    }


def level_movements(filters: Filters, levels: list[Level]) -> dict[str, Any]:
    """Level changes in the range, counted per (from, to) pair; up or down by rank."""
    changes = LevelChange.objects.filter(changed_at__gte=filters.since, changed_at__lt=filters.until)
    if filters.store:
        changes = changes.filter(customer__store=filters.store)
    pairs = changes.values("from_level", "to_level").annotate(n=Count("pk")).order_by()
    by_id = {level.pk: level for level in levels}
    by_level: dict[int | None, dict[str, int]] = {}
    ranked = []
    totals = {"up": 0, "down": 0}
    for pair in pairs:
        source, target = by_id.get(pair["from_level"]), by_id.get(pair["to_level"])
        source_rank = source.rank if source else -1
        target_rank = target.rank if target else -1
        if source_rank == target_rank:
            continue  # set by hand to the level the member already had
        direction = "up" if target_rank > source_rank else "down"
        totals[direction] += pair["n"]
        into = by_level.setdefault(pair["to_level"], {})
        into[f"{direction}_in"] = into.get(f"{direction}_in", 0) + pair["n"]
        out = by_level.setdefault(pair["from_level"], {})
        out["out"] = out.get("out", 0) + pair["n"]
        row = {
            "from_level": source.name if source else _("(no level)"),
            "to_level": target.name if target else _("(no level)"),
            "direction": direction,
            "members": pair["n"],
        }
        ranked.append(((direction, -target_rank, -source_rank), row))
    rows = [row for _key, row in sorted(ranked, key=lambda item: item[0])]
    return {"pairs": rows, "by_level": by_level, **totals}


# Points -----------------------------------------------------------------------------------------


def points(filters: Filters, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Monthly points flows, the redemption rate, the balance at the range end and what expires soon."""
    now = now or timezone.now()
    flows = _by_month_and_kind(_entries(filters, [Asset.POINTS]))
    monthly: list[dict[str, Any]] = []
    for month in _months(filters):
        flow = {kind: _points(flows.get((month, Asset.POINTS, kind))) for kind in EntryKind.values}
        monthly.append(
            {
                "month": month,
                "issued": flow[EntryKind.EARN],
                "redeemed": abs(flow[EntryKind.SPEND]),
                "returned": flow[EntryKind.RETURN],
                "expired": abs(flow[EntryKind.EXPIRE]),
                "reversed": abs(flow[EntryKind.REVERSE]),
                "adjusted": flow[EntryKind.ADJUST],
            }
        )
    totals: dict[str, Any] = {key: sum(row[key] for row in monthly) for key in POINTS_FLOWS}
    for row in [*monthly, totals]:
        row["net_redeemed"] = row["redeemed"] - row["returned"]
        row["net_change"] = row["issued"] - row["net_redeemed"] - row["expired"] - row["reversed"] + row["adjusted"]
        row["redemption_rate"] = round(row["net_redeemed"] / row["issued"], 4) if row["issued"] else 0.0
    outstanding = _points(_outstanding_at_end(filters, [Asset.POINTS]).get(Asset.POINTS))
    per_unit = program_settings().points_per_currency_unit
    return {
        "monthly": monthly,
        "totals": totals,
        "outstanding": outstanding,
        "outstanding_value": _amount(Decimal(outstanding) / per_unit) if per_unit else ZERO,
        "points_per_currency_unit": per_unit,
        "holders": _holders_at_end(filters, [Asset.POINTS]),
        "expiring": [expiring_points(filters, days=days, now=now) for days in EXPIRY_HORIZONS],
    }


def expiring_points(filters: Filters, *, days: int, now: dt.datetime) -> dict[str, Any]:
    """Points left in lots that expire within ``days`` of ``now``, and how many members hold them."""
    lots = loyalty_queries.points_expiring(within=dt.timedelta(days=days), now=now)
    if filters.store:
        lots = lots.filter(account__customer__store=filters.store)
    found = lots.aggregate(points=Sum("remaining"), members=Count("account__customer", distinct=True))
    return {"days": days, "points": _points(found["points"]), "members": found["members"]}


# Stored value -----------------------------------------------------------------------------------


def stored_value(filters: Filters) -> dict[str, Any]:
    """Monthly stored-value flows, principal and bonus apart, and the liability at the range end."""
    flows = _by_month_and_kind(_entries(filters, STORED_VALUE))
    monthly: list[dict[str, Any]] = []
    for month in _months(filters):
        flow = {(asset, kind): flows.get((month, asset, kind), ZERO) for asset in STORED_VALUE for kind in EntryKind}
        spent_principal = abs(flow[Asset.PRINCIPAL, EntryKind.SPEND])
        spent_bonus = abs(flow[Asset.BONUS, EntryKind.SPEND])
        monthly.append(
            {
                "month": month,
                "top_ups": flow[Asset.PRINCIPAL, EntryKind.TOP_UP],
                "bonus_granted": flow[Asset.BONUS, EntryKind.TOP_UP],
                "spent": spent_principal + spent_bonus,
                "spent_principal": spent_principal,
                "spent_bonus": spent_bonus,
                "returned": flow[Asset.PRINCIPAL, EntryKind.RETURN] + flow[Asset.BONUS, EntryKind.RETURN],
                "withdrawn": abs(flow[Asset.PRINCIPAL, EntryKind.WITHDRAW]),
                "forfeited": abs(flow[Asset.BONUS, EntryKind.FORFEIT]),
                "adjusted": flow[Asset.PRINCIPAL, EntryKind.ADJUST] + flow[Asset.BONUS, EntryKind.ADJUST],
            }
        )
    totals = {key: sum((row[key] for row in monthly), ZERO) for key in STORED_VALUE_FLOWS}
    outstanding = _outstanding_at_end(filters, STORED_VALUE)
    principal, bonus = _amount(outstanding.get(Asset.PRINCIPAL)), _amount(outstanding.get(Asset.BONUS))
    topped_up = (
        _entries(filters, [Asset.PRINCIPAL])
        .filter(kind=EntryKind.TOP_UP)
        .aggregate(n=Count("account__customer", distinct=True))["n"]
    )
    return {
        "monthly": monthly,
        "totals": totals,
        "outstanding_principal": principal,
        "outstanding_bonus": bonus,
        "outstanding_total": principal + bonus,
        "funded_accounts": _holders_at_end(filters, STORED_VALUE),
        "members_topping_up": topped_up,
    }


def loyalty_dashboard(filters: Filters, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the loyalty page shows, for the page and the API (amounts to the cent)."""
    return _cents(
        {
            "filters": filters.as_params(),
            "by_level": by_level(filters),
            "points": points(filters, now=now),
            "stored_value": stored_value(filters),
        }
    )
